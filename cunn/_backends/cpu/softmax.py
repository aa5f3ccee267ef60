"""softmax kernels: softmax / log_softmax along any dim (float32), over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


def _contiguous(array):
    # np.ascontiguousarray would turn a 0-d array (a reduced loss's grad_output) into 1-d.
    return np.asarray(array, order="C")


def softmax_forward(x, dim):
    return _C.softmax_forward(_contiguous(x), dim)


def softmax_backward(grad_output, output, dim):
    return _C.softmax_backward(_contiguous(grad_output), _contiguous(output), dim)


def log_softmax_forward(x, dim):
    return _C.log_softmax_forward(_contiguous(x), dim)


def log_softmax_backward(grad_output, output, dim):
    return _C.log_softmax_backward(_contiguous(grad_output), _contiguous(output), dim)
