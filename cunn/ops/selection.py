"""topk and where: picking elements by rank or by a condition; gradients go back to the
picked positions only."""
import collections

import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops

from cunn.autograd.function import Function
from cunn.ops._util import as_tensor, unbroadcast
from cunn.ops.elementwise import _operands
from cunn.ops.shape import normalise_dim

__all__ = ["topk", "where", "TopK"]

# torch.topk returns a named pair.
TopK = collections.namedtuple("topk", ["values", "indices"])


class TopKBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        shape, indices, axis = self.saved
        grad = np.zeros(shape, dtype=grad_output.dtype)
        np.put_along_axis(grad, indices, grad_output, axis)
        return (grad,)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002  (PyTorch's name)
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices, best first.
    NaN counts as larger than any number, as in PyTorch."""
    x = as_tensor(x)
    data = x._data
    if data.dtype.kind == "b":
        raise TypeError("topk: input must be numeric, got a bool tensor")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if data.ndim == 0:  # a 0-d tensor is one element along dim 0 or -1
        normalise_dim("topk", dim, 0)
        values, indices = topk(x.reshape(1), k, 0, largest, sorted)
        return TopK(values.reshape(()), indices.reshape(())) if k else TopK(values, indices)
    axis = normalise_dim("topk", dim, data.ndim)
    if not 0 <= k <= data.shape[axis]:
        raise ValueError(f"topk: k ({k}) must lie in [0, {data.shape[axis]}], the size of dim "
                         f"{dim}")
    if largest:
        key = np.negative(data)
        if data.dtype.kind == "f":
            key = np.where(np.isnan(data), -np.inf, key)
    else:
        key = data
    order = np.argsort(key, axis=axis, kind="stable")
    indices = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    values = np.take_along_axis(data, indices, axis)
    values = TopKBackward.record(values, (x,), data.shape, indices, axis)
    return TopK(values, _tensor.Tensor(indices))


class WhereBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        a, b = self.inputs
        (condition,) = self.saved
        zero = grad_output.dtype.type(0)
        grad_a = unbroadcast(np.where(condition, grad_output, zero), a._data.shape) \
            if self.needs_input_grad[0] else None
        grad_b = unbroadcast(np.where(condition, zero, grad_output), b._data.shape) \
            if self.needs_input_grad[1] else None
        return grad_a, grad_b


def where(condition, x=None, y=None):
    """Elements of ``x`` where ``condition`` holds, of ``y`` elsewhere (broadcasting);
    with the condition alone, the indices where it holds (one Tensor per dim)."""
    mask = as_tensor(condition)._data
    if x is None and y is None:
        return tuple(_tensor.Tensor(index.astype(np.int64)) for index in np.nonzero(mask))
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    if mask.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {mask.dtype}")
    a, b, first, second = _operands(x, y, "where")
    try:
        out = np.where(mask, first, second)
    except ValueError:
        raise ValueError(f"where: shapes {mask.shape}, {first.shape} and {second.shape} do not "
                         "broadcast") from None
    return WhereBackward.record(out, (a, b), mask)
