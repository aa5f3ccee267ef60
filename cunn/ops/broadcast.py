"""expand (a broadcast view) and repeat (tiled copies); both sum their gradient back."""
import numpy as np

from cunn.autograd.function import Function
from cunn.ops._util import contiguous, unbroadcast
from cunn.ops.shape import _shape_argument

__all__ = ["expand", "repeat"]


class ExpandBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        (shape,) = self.saved
        return (unbroadcast(contiguous(grad_output), shape),)


def expand(x, *sizes):
    """A read-only view of ``x`` broadcast to ``sizes`` (-1 keeps a size; new dims go first)."""
    data = x._data
    sizes = _shape_argument("expand", sizes)
    if len(sizes) < data.ndim:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"tensor's number of dims ({data.ndim})")
    lead = len(sizes) - data.ndim
    target = []
    for position, size in enumerate(sizes):
        if position < lead:
            if size < 0:
                raise ValueError(f"expand: a new leading dim needs a size >= 0, got {sizes}")
        else:
            current = data.shape[position - lead]
            if size == -1:
                size = current
            elif current != 1 and size != current:
                raise ValueError(f"expand: the size of dim {position} ({current}) must match "
                                 f"{size} or be 1 (sizes {sizes}, tensor shape {data.shape})")
        target.append(size)
    return ExpandBackward.record(np.broadcast_to(data, tuple(target)), (x,), data.shape)


class RepeatBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        shape, padded, repeats = self.saved
        # Split every dim into (repeat, size) and sum over the repeats.
        interleaved = [value for pair in zip(repeats, padded) for value in pair]
        summed = grad_output.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return (summed.reshape(shape),)


def repeat(x, *repeats):
    """``x`` tiled ``repeats[i]`` times along each dim (extra repeats add leading dims)."""
    data = x._data
    repeats = _shape_argument("repeat", repeats)
    if len(repeats) < data.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(repeats)}) must be at least the "
                         f"tensor's number of dims ({data.ndim})")
    if any(count < 0 for count in repeats):
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
    padded = (1,) * (len(repeats) - data.ndim) + data.shape
    out = np.tile(data.reshape(padded), repeats)
    return RepeatBackward.record(out, (x,), data.shape, padded, repeats)
