"""norm, var and std over dims (PyTorch's torch.norm, torch.var, torch.std).

var and std are composed of mean, sub, mul and sum, so they run on the current backend's
kernels and take their gradients from those ops. norm has its own node: the chain rule
through sqrt would give 0 * inf = NaN for an all-zero slice, where PyTorch gives 0.
"""
import math

import numpy as np

from cunn.autograd.function import Function
from cunn.ops import elementwise, reduce
from cunn.ops._util import as_array, as_tensor

__all__ = ["norm", "var", "std"]

_INF = float("inf")


def _floating(op, x):
    x = as_tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating (float32), got {x._data.dtype}; "
                        "use .float() first")
    return x


def _order(p):
    if p in ("fro", None):
        return 2.0
    if isinstance(p, str):
        raise ValueError(f"norm: p must be a number or 'fro', got {p!r} (the nuclear norm is "
                         "not supported)")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm: p must be a number, got {type(p).__name__}")
    return float(p)


class NormBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        data, output, order, dims, keepdim = self.saved
        if not keepdim and dims:
            grad_output = np.expand_dims(grad_output, dims)
            output = np.expand_dims(output, dims)
        if order == 0:  # a count: PyTorch gives its input no gradient
            return (None,)
        with np.errstate(divide="ignore", invalid="ignore"):
            if order == 1:
                local = np.sign(data)
            elif math.isinf(order):
                # The gradient is shared evenly between the entries that reach the extreme.
                hits = np.abs(data) == output
                local = np.sign(data) * hits / np.sum(hits, axis=dims, keepdims=True)
            elif order == 2:
                local = np.where(output == 0, 0, data / output)
            else:
                local = np.where(output == 0, 0, np.sign(data) * np.abs(data) ** (order - 1)
                                 / output ** (order - 1))
        return ((grad_output * local).astype(data.dtype, copy=False),)


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm of ``x`` over ``dim`` (every element by default): 'fro' and 2 are the
    Euclidean norm, inf/-inf the largest/smallest magnitude, 0 the count of nonzeros."""
    x = _floating("norm", x)
    order = _order(p)
    data = x._data
    dims = reduce._dims("norm", dim, data.ndim)
    axes = dims if data.ndim else None
    magnitude = np.abs(data)
    if math.isinf(order):
        if data.size == 0:
            raise ValueError(f"norm: cannot take the {order}-norm of an empty tensor")
        extreme = np.max if order > 0 else np.min
        out = extreme(magnitude, axis=axes, keepdims=keepdim)
    elif order == 0:
        out = np.sum(data != 0, axis=axes, keepdims=keepdim).astype(data.dtype)
    elif order == 1:
        out = np.sum(magnitude, axis=axes, keepdims=keepdim)
    elif order == 2:
        out = np.sqrt(np.sum(data * data, axis=axes, keepdims=keepdim))
    else:
        with np.errstate(divide="ignore", over="ignore"):
            out = np.sum(magnitude ** order, axis=axes, keepdims=keepdim) ** (1.0 / order)
    out = as_array(out).astype(data.dtype, copy=False)
    return NormBackward.record(out, (x,), data, out, order, dims, keepdim)


def _correction(op, correction, unbiased):
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}: give either correction or unbiased, not both")
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{op}: unbiased must be a bool, got {type(unbiased).__name__}")
        return 1 if unbiased else 0
    if correction is None:
        return 1
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.integer,
                                                                   np.floating)):
        raise TypeError(f"{op}: correction must be a number, got {type(correction).__name__}")
    return correction


def var(x, dim=None, correction=None, keepdim=False, unbiased=None, op="var"):
    """Sum of squared deviations from the mean over ``dim``, divided by
    ``max(0, N - correction)`` (Bessel's correction, 1, by default)."""
    x = _floating(op, x)
    correction = _correction(op, correction, unbiased)
    data = x._data
    dims = reduce._dims(op, dim, data.ndim)
    count = math.prod(data.shape[axis] for axis in dims) if data.ndim else 1
    centred = elementwise.sub(x, reduce.mean(x, dims if data.ndim else None, True))
    total = reduce.sum(elementwise.mul(centred, centred), dims if data.ndim else None, keepdim)
    denominator = max(0, count - correction)
    # 0 / 0 is NaN and s / 0 is inf, as PyTorch gives for too few elements.
    return elementwise.mul(total, 1.0 / denominator if denominator else _INF)


def std(x, dim=None, correction=None, keepdim=False, unbiased=None):
    """The square root of ``var``."""
    return elementwise.sqrt(var(x, dim, correction, keepdim, unbiased, op="std"))
