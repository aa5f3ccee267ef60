"""activation kernels: relu, leaky_relu, sigmoid, tanh (float32), over cunn._C."""
import numpy as np

from cunn import _C

__all__ = [
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
]


def _contiguous(array):
    # np.ascontiguousarray would turn a 0-d array (a reduced loss's grad_output) into 1-d.
    return np.asarray(array, order="C")


def relu_forward(x):
    return _C.relu_forward(_contiguous(x))


def relu_backward(grad_output, x):
    return _C.relu_backward(_contiguous(grad_output), _contiguous(x))


def leaky_relu_forward(x, negative_slope):
    return _C.leaky_relu_forward(_contiguous(x), negative_slope)


def leaky_relu_backward(grad_output, x, negative_slope):
    return _C.leaky_relu_backward(_contiguous(grad_output), _contiguous(x), negative_slope)


def sigmoid_forward(x):
    return _C.sigmoid_forward(_contiguous(x))


def sigmoid_backward(grad_output, output):
    return _C.sigmoid_backward(_contiguous(grad_output), _contiguous(output))


def tanh_forward(x):
    return _C.tanh_forward(_contiguous(x))


def tanh_backward(grad_output, output):
    return _C.tanh_backward(_contiguous(grad_output), _contiguous(output))
