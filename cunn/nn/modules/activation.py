"""Activation layers: each forward is the matching cunn.nn.functional call.

``inplace=True`` is accepted for PyTorch compatibility and computes out of place
(the result is the same; the input is left untouched).
"""
import warnings

from cunn.nn import functional as F
from cunn.nn.modules._utils import check_bool, check_number, is_int
from cunn.nn.modules.module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"]


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
