"""Ops that only move elements: reshape/view, flatten, transpose/permute, squeeze/unsqueeze,
indexing, cat and stack. Results are NumPy views where NumPy gives one; gradients move
back the same way (indexing scatters with np.add.at, so repeated indices add up)."""
import math

import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops

from cunn.autograd.function import Function
from cunn.device import check_same_device
from cunn.ops._util import as_array, as_tensor

__all__ = ["reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "index",
           "cat", "stack", "normalise_dim"]


def normalise_dim(op, dim, ndim):
    rank = ndim if ndim else 1
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dim {dim} out of range for a {ndim}-D tensor "
                         f"(expected in [{-rank}, {rank - 1}])")
    return int(dim) % rank


class ReshapeBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        (shape,) = self.saved
        return (grad_output.reshape(shape),)


def _shape_argument(op, shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
    return tuple(int(size) for size in shape)


def reshape(x, *shape, op="reshape"):
    data = x._data
    shape = _shape_argument(op, shape)
    if shape.count(-1) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {shape}")
    known = math.prod(size for size in shape if size != -1)
    if any(size < -1 for size in shape) or (
            -1 not in shape and known != data.size) or (
            -1 in shape and (known == 0 or data.size % known)):
        raise ValueError(f"{op}: shape {shape} is invalid for a tensor of {data.size} elements "
                         f"(shape {data.shape})")
    return ReshapeBackward.record(data.reshape(shape), (x,), data.shape)


def flatten(x, start_dim=0, end_dim=-1):
    data = x._data
    if data.ndim == 0:
        return reshape(x, 1, op="flatten")
    start = normalise_dim("flatten", start_dim, data.ndim)
    end = normalise_dim("flatten", end_dim, data.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim "
                         f"({end_dim})")
    if start == end:
        return x  # nothing to flatten: PyTorch returns the input itself
    shape = data.shape[:start] + (math.prod(data.shape[start:end + 1]),) + data.shape[end + 1:]
    return ReshapeBackward.record(data.reshape(shape), (x,), data.shape)


class PermuteBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        (order,) = self.saved
        return (np.transpose(grad_output, np.argsort(order)),)


def permute(x, *dims):
    data = x._data
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    order = tuple(normalise_dim("permute", dim, data.ndim) for dim in dims)
    if sorted(order) != list(range(data.ndim)):
        raise ValueError(f"permute: dims {dims} must be a permutation of the {data.ndim} dims")
    return PermuteBackward.record(np.transpose(data, order), (x,), order)


def transpose(x, dim0, dim1):
    data = x._data
    order = list(range(data.ndim))
    first = normalise_dim("transpose", dim0, data.ndim)
    second = normalise_dim("transpose", dim1, data.ndim)
    if data.ndim == 0:
        return permute(x)
    order[first], order[second] = order[second], order[first]
    return PermuteBackward.record(np.transpose(data, order), (x,), tuple(order))


def squeeze(x, dim=None):
    data = x._data
    if dim is None:
        out = data.reshape(tuple(size for size in data.shape if size != 1))
    else:
        axis = normalise_dim("squeeze", dim, data.ndim)
        out = data.reshape(data.shape[:axis] + data.shape[axis + 1:]) \
            if data.ndim and data.shape[axis] == 1 else data
    return ReshapeBackward.record(out, (x,), data.shape)


def unsqueeze(x, dim):
    data = x._data
    axis = normalise_dim("unsqueeze", dim, data.ndim + 1)
    return ReshapeBackward.record(np.expand_dims(data, axis), (x,), data.shape)


class IndexBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        shape, key = self.saved
        grad = np.zeros_like(grad_output, shape=shape, order="C")  # on grad_output's device
        np.add.at(grad, key, grad_output)
        return (grad,)


def _index_key(key):
    """Tensors inside an index become arrays; bool Tensors stay masks."""
    if isinstance(key, tuple):
        return tuple(_index_key(part) for part in key)
    if isinstance(key, _tensor.Tensor):
        return key._data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def index(x, key):
    data = x._data
    key = _index_key(key)
    try:
        out = data[key]
    except IndexError as error:
        raise IndexError(f"index: {error} (tensor of shape {data.shape})") from None
    return IndexBackward.record(as_array(out),
                                (x,), data.shape, key)


class CatBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        axis, boundaries = self.saved
        return tuple(np.split(grad_output, boundaries, axis=axis))


def cat(tensors, dim=0):
    tensors = tuple(as_tensor(tensor) for tensor in tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    arrays = [tensor._data for tensor in tensors]
    check_same_device("cat", *arrays)
    axis = normalise_dim("cat", dim, arrays[0].ndim)
    try:
        out = np.concatenate(arrays, axis=axis)
    except ValueError as error:
        raise ValueError(f"cat: {error}") from None
    boundaries = np.cumsum([array.shape[axis] for array in arrays])[:-1]
    return CatBackward.record(out, tensors, axis, boundaries)


class StackBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        (axis,) = self.saved
        return tuple(np.squeeze(part, axis) for part in
                     np.split(grad_output, grad_output.shape[axis], axis=axis))


def stack(tensors, dim=0):
    tensors = tuple(as_tensor(tensor) for tensor in tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    arrays = [tensor._data for tensor in tensors]
    check_same_device("stack", *arrays)
    axis = normalise_dim("stack", dim, arrays[0].ndim + 1)
    try:
        out = np.stack(arrays, axis=axis)
    except ValueError as error:
        raise ValueError(f"stack: {error}") from None
    return StackBackward.record(out, tensors, axis)
