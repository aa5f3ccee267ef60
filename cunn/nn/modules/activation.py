"""Activation layers: each forward is the matching cunn.nn.functional call.

``inplace=True`` is accepted for PyTorch compatibility and computes out of place
(the result is the same; the input is left untouched).
"""
import warnings

from cunn.nn import functional as F
from cunn.nn.modules._utils import check_bool, check_number, is_int
from cunn.nn.modules.module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "GELU", "ELU", "SiLU",
           "Softplus"]


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check_bool(inplace, "inplace", "ReLU")

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = check_number(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = check_bool(inplace, "inplace", "LeakyReLU")

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


def _implicit_dim(name, ndim):
    # PyTorch's legacy rule for a missing dim, with its deprecation warning.
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"{name}: implicit dimension choice is deprecated (PyTorch's legacy rule "
                  f"picks dim={dim} for a {ndim}-D input); pass dim= explicitly",
                  UserWarning, stacklevel=5)
    return dim


class _SoftmaxBase(Module):
    def __init__(self, dim=None):
        super().__init__()
        if dim is not None and not is_int(dim):
            raise TypeError(f"{type(self).__name__}: dim must be an int or None, got "
                            f"{type(dim).__name__} {dim!r}")
        self.dim = None if dim is None else int(dim)

    def _dim(self, input):
        if self.dim is not None:
            return self.dim
        return _implicit_dim(type(self).__name__, len(getattr(input, "shape", ())))

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """Softmax along ``dim`` (slices along it sum to one)."""

    def forward(self, input):
        return F.softmax(input, self._dim(input))


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably."""

    def forward(self, input):
        return F.log_softmax(input, self._dim(input))


class GELU(Module):
    """``GELU(approximate='none')``: x Φ(x) with the exact erf, or its tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """``ELU(alpha=1.0, inplace=False)``: x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = check_number(alpha, "alpha", "ELU")
        self.inplace = check_bool(inplace, "inplace", "ELU")

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """``SiLU(inplace=False)``: x σ(x)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check_bool(inplace, "inplace", "SiLU")

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softplus(Module):
    """``Softplus(beta=1.0, threshold=20.0)``: log(1 + exp(beta x)) / beta, linear above
    beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = check_number(beta, "beta", "Softplus")
        self.threshold = check_number(threshold, "threshold", "Softplus")

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
