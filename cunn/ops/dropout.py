"""dropout with a mask drawn in cunn/random.py, scaled by 1/(1-p) so the expected value
is unchanged; the backward applies the same mask and scale."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for
from cunn import random

__all__ = ["dropout", "dropout2d"]


class DropoutBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        mask, scale = self.saved
        return (kernels_for(grad_output.dtype).dropout_backward(grad_output, mask, scale),)


def dropout(x, p):
    mask = random.dropout_mask(x._data.shape, p)
    scale = 1.0 / (1.0 - p)
    out = kernels_for(x._data.dtype).dropout_forward(x._data, mask, scale)
    return DropoutBackward.record(out, (x,), mask, scale)


class Dropout2dBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        mask, scale = self.saved
        return (kernels_for(grad_output.dtype).dropout2d_backward(grad_output, mask, scale),)


def dropout2d(x, p):
    """Zeroes whole channels: one mask entry per (sample, channel) of x (N, C, *)."""
    mask = random.dropout_mask(x._data.shape[:2], p)
    scale = 1.0 / (1.0 - p)
    out = kernels_for(x._data.dtype).dropout2d_forward(x._data, mask, scale)
    return Dropout2dBackward.record(out, (x,), mask, scale)
