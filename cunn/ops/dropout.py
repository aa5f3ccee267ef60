"""dropout with a mask drawn in cunn/random.py, scaled by 1/(1-p) so the expected value
is unchanged; the backward applies the same mask and scale."""
from cunn.autograd.function import Function
from cunn.ops._util import DeviceArray, kernels_for
from cunn import random

__all__ = ["dropout", "dropout2d"]


class DropoutBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        mask, scale = self.saved
        return (kernels_for(grad_output).dropout_backward(grad_output, mask, scale),)


def _mask(data, shape, p):
    """A keep-mask of ``shape``: drawn on the device for device data (no host copy)."""
    if type(data) is DeviceArray:
        return kernels_for(data).dropout_mask(shape, p, *random.device_seed())
    return random.dropout_mask(shape, p)


def dropout(x, p):
    mask = _mask(x._data, x._data.shape, p)
    scale = 1.0 / (1.0 - p)
    out = kernels_for(x._data).dropout_forward(x._data, mask, scale)
    return DropoutBackward.record(out, (x,), mask, scale)


class Dropout2dBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        mask, scale = self.saved
        return (kernels_for(grad_output).dropout2d_backward(grad_output, mask, scale),)


def dropout2d(x, p):
    """Zeroes whole channels: one mask entry per (sample, channel) of x (N, C, *)."""
    mask = _mask(x._data, x._data.shape[:2], p)
    scale = 1.0 / (1.0 - p)
    out = kernels_for(x._data).dropout2d_forward(x._data, mask, scale)
    return Dropout2dBackward.record(out, (x,), mask, scale)
