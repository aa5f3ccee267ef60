"""dropout with a mask drawn in cunn/random.py, scaled by 1/(1-p) so the expected value
is unchanged; the backward applies the same mask and scale."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for
from cunn import random

__all__ = ["dropout"]


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
