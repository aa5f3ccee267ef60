"""Linear (y = x W^T + b), Identity, Flatten and Unflatten."""
import math

from cunn._memory import aligned_empty
from cunn.nn import functional as F
from cunn.nn import init
from cunn.nn.modules._utils import check_bool, check_int, is_int
from cunn.nn.modules.module import Module
from cunn.nn.parameter import Parameter

__all__ = ["Identity", "Linear", "Flatten", "Unflatten"]


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


class Unflatten(Module):
    """``Unflatten(dim, unflattened_size)``: splits dimension ``dim`` into the given sizes
    (one of them may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__} {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size or not all(
                is_int(size) for size in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple of ints, "
                            f"got {unflattened_size!r}")
        self.dim = int(dim)
        self.unflattened_size = tuple(int(size) for size in unflattened_size)

    def forward(self, input):
        return input.reshape(self._unflattened_shape(tuple(input.shape)))

    def _unflattened_shape(self, shape):
        rank = len(shape)
        if not -rank <= self.dim < max(rank, 1):
            raise IndexError(f"{self._layer_text()}: dim {self.dim} out of range for a "
                             f"{rank}-D input")
        dim = self.dim % rank
        sizes = self.unflattened_size
        known = math.prod(size for size in sizes if size != -1)
        if sizes.count(-1) > 1 or any(size < -1 for size in sizes) or (
                -1 not in sizes and known != shape[dim]) or (
                -1 in sizes and (known == 0 or shape[dim] % known)):
            raise ValueError(f"{self._layer_text()}: sizes {sizes} do not multiply to the size "
                             f"{shape[dim]} of dim {self.dim} (input shape {shape})")
        return shape[:dim] + sizes + shape[dim + 1:]

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
