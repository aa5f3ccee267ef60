"""sum, mean, max, min and argmax over dims, on the backend's sum and max kernels.

sum's gradient broadcasts grad_output back over the reduced dims; max/min send it to
the index each maximum came from (the first one on ties, as the kernel chooses).
"""
import collections
import math

import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops

from cunn.autograd.function import Function
from cunn.ops._util import as_array, as_tensor, kernels_for

__all__ = ["sum", "mean", "max", "min", "argmax", "argmin", "ReturnTypes"]

# torch.max(x, dim) returns a named pair.
ReturnTypes = collections.namedtuple("max", ["values", "indices"])


def _dims(op, dim, ndim):
    """dim (None, int or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    rank = ndim if ndim else 1
    result = []
    for axis in dims:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -rank <= axis < rank:
            raise IndexError(f"{op}: dim {axis} out of range for a {ndim}-D tensor "
                             f"(expected in [{-rank}, {rank - 1}])")
        result.append(int(axis) % rank)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: dims must be distinct, got {dim!r}")
    return tuple(sorted(result)) if ndim else ()


class SumBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        shape, dims, keepdim, scale = self.saved
        if not keepdim and dims:
            grad_output = np.expand_dims(grad_output, dims)
        if scale != 1:
            grad_output = grad_output * grad_output.dtype.type(scale)
        return (np.broadcast_to(grad_output, shape),)


def sum(x, dim=None, keepdim=False):  # noqa: A001
    x = as_tensor(x)
    data = x._data
    dims = _dims("sum", dim, data.ndim)
    if data.dtype.kind == "f":
        out = kernels_for(data).sum(data, dims if data.ndim else None, keepdim)
    else:  # integers and bools sum to int64, as in PyTorch
        out = as_array(np.sum(data, axis=dims, keepdims=keepdim, dtype=np.int64))
    return SumBackward.record(out, (x,), data.shape, dims, keepdim, 1)


def mean(x, dim=None, keepdim=False):
    x = as_tensor(x)
    data = x._data
    if data.dtype.kind != "f":
        raise TypeError(f"mean: input must be floating (float32), got {data.dtype}; "
                        "use .float() first")
    dims = _dims("mean", dim, data.ndim)
    count = math.prod(data.shape[axis] for axis in dims) if data.ndim else 1
    total = kernels_for(data).sum(data, dims if data.ndim else None, keepdim)
    scale = 1.0 / count if count else float("nan")
    out = as_array(total * total.dtype.type(scale))
    return SumBackward.record(out, (x,), data.shape, dims, keepdim, scale)


class MaxBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        shape, axis, indices, keepdim = self.saved
        if not keepdim:
            grad_output = np.expand_dims(grad_output, axis)
            indices = np.expand_dims(indices, axis)
        grad = np.zeros_like(grad_output, shape=shape, order="C")  # on grad_output's device
        np.put_along_axis(grad, indices, grad_output, axis)
        return (grad,)


def _max_along(op, x, dim, keepdim, sign):
    """(values, indices) of the maximum of sign*x along dim; sign -1 gives the minimum."""
    data = x._data
    (axis,) = _dims(op, dim, data.ndim) or (0,)
    if data.ndim and data.shape[axis] == 0:
        raise ValueError(f"{op}: cannot reduce an empty dim {dim} of a tensor of shape "
                         f"{data.shape}")
    source = data if sign > 0 else np.negative(data)
    if data.ndim == 0:
        values, indices = source.copy(), np.zeros_like(source, dtype=np.int64)
    elif data.dtype.kind == "f":
        values, indices = kernels_for(data).max(source, axis, keepdim)
    else:
        indices = np.argmax(source, axis=axis)
        values = np.take_along_axis(source, np.expand_dims(indices, axis), axis)
        if keepdim:
            indices = np.expand_dims(indices, axis)
        else:
            values = np.squeeze(values, axis)
        indices = indices.astype(np.int64)
    if sign < 0:
        values = np.negative(values)
    return values, indices, axis


def _reduce_extreme(op, x, dim, keepdim, sign):
    x = as_tensor(x)
    if dim is None:
        flat = x.reshape(-1)
        if flat._data.size == 0:
            raise ValueError(f"{op}: cannot reduce an empty tensor")
        values, indices, axis = _max_along(op, flat, 0, False, sign)
        return MaxBackward.record(values, (flat,), flat._data.shape, axis, indices, False)
    values, indices, axis = _max_along(op, x, dim, keepdim, sign)
    values = MaxBackward.record(values, (x,), x._data.shape, axis, indices, keepdim)
    return ReturnTypes(values, _tensor.Tensor(indices))


def max(x, dim=None, keepdim=False):  # noqa: A001
    """The maximum (a 0-d Tensor) or, with dim, (values, indices) along it."""
    return _reduce_extreme("max", x, dim, keepdim, 1)


def min(x, dim=None, keepdim=False):  # noqa: A001
    return _reduce_extreme("min", x, dim, keepdim, -1)


def argmax(x, dim=None, keepdim=False):
    x = as_tensor(x)
    if dim is None:
        return _tensor.Tensor(as_array(_max_along("argmax", x.reshape(-1), 0, False, 1)[1]))
    return _tensor.Tensor(_max_along("argmax", x, dim, keepdim, 1)[1])


def argmin(x, dim=None, keepdim=False):
    x = as_tensor(x)
    if dim is None:
        return _tensor.Tensor(as_array(_max_along("argmin", x.reshape(-1), 0, False, -1)[1]))
    return _tensor.Tensor(_max_along("argmin", x, dim, keepdim, -1)[1])
