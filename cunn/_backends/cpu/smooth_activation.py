"""smooth_activation kernels: gelu, elu, silu, softplus (float32), over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["gelu_forward", "gelu_backward", "elu_forward", "elu_backward", "silu_forward",
           "silu_backward", "softplus_forward", "softplus_backward"]


def _contiguous(array):
    # np.ascontiguousarray would turn a 0-d array into 1-d.
    return np.asarray(array, order="C")


def gelu_forward(x, approximate="none"):
    return _C.gelu_forward(_contiguous(x), approximate)


def gelu_backward(grad_output, x, approximate="none"):
    return _C.gelu_backward(_contiguous(grad_output), _contiguous(x), approximate)


def elu_forward(x, alpha):
    return _C.elu_forward(_contiguous(x), alpha)


def elu_backward(grad_output, x, alpha):
    return _C.elu_backward(_contiguous(grad_output), _contiguous(x), alpha)


def silu_forward(x):
    return _C.silu_forward(_contiguous(x))


def silu_backward(grad_output, x):
    return _C.silu_backward(_contiguous(grad_output), _contiguous(x))


def softplus_forward(x, beta, threshold):
    return _C.softplus_forward(_contiguous(x), beta, threshold)


def softplus_backward(grad_output, x, beta, threshold):
    return _C.softplus_backward(_contiguous(grad_output), _contiguous(x), beta, threshold)
