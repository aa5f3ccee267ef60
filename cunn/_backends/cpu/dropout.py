"""dropout kernels (float32 values, bool or uint8 mask), over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["dropout_forward", "dropout_backward", "dropout2d_forward", "dropout2d_backward"]


def _contiguous(array):
    # np.ascontiguousarray would turn a 0-d array into 1-d.
    return np.asarray(array, order="C")


def dropout_forward(x, mask, scale):
    return _C.dropout_forward(_contiguous(x), _contiguous(mask), scale)


def dropout_backward(grad_output, mask, scale):
    return _C.dropout_backward(_contiguous(grad_output), _contiguous(mask), scale)


def dropout2d_forward(x, mask, scale):
    return _C.dropout2d_forward(_contiguous(x), _contiguous(mask), scale)


def dropout2d_backward(grad_output, mask, scale):
    return _C.dropout2d_backward(_contiguous(grad_output), _contiguous(mask), scale)
