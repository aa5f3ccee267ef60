"""Linear (y = x W^T + b), Identity and Flatten."""
import math

from cunn._memory import aligned_empty
from cunn.nn import functional as F
from cunn.nn import init
from cunn.nn.modules._utils import check_bool, check_int, is_int
from cunn.nn.modules.module import Module
from cunn.nn.parameter import Parameter

__all__ = ["Identity", "Linear", "Flatten"]


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``Linear(in_features, out_features, bias=True)``: weight (out, in), bias (out,),
    both initialised as PyTorch does (uniform in +-1/sqrt(in_features))."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", "Linear")
        self.out_features = check_int(out_features, "out_features", "Linear")
        bias = check_bool(bias, "bias", "Linear")
        self.weight = Parameter(aligned_empty((self.out_features, self.in_features)))
        if bias:
            self.bias = Parameter(aligned_empty((self.out_features,)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) is U(+-1/sqrt(fan_in)), exactly PyTorch's default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """``Flatten(start_dim=1, end_dim=-1)``: flattens the dimensions from start_dim to
    end_dim, keeping the batch dimension by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(value):
                raise TypeError(f"Flatten: {name} must be an int, got {type(value).__name__} "
                                f"{value!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
