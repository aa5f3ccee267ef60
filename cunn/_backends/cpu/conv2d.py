"""conv2d kernels (NCHW, float32), over cunn._C.

The binding takes C-contiguous arrays only; inputs of any other layout are copied here
(np.ascontiguousarray returns a C-contiguous array as it is). dtypes are not converted:
a float64 input reaches the binding and is refused with a TypeError.
"""
import numpy as np

from cunn import _C

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "conv2d_relu_pool_forward", "conv2d_relu_pool_backward"]


def conv2d_forward(x, weight, bias, stride, padding):
    if bias is not None:
        bias = np.ascontiguousarray(bias)
    return _C.conv2d_forward(np.ascontiguousarray(x), np.ascontiguousarray(weight), bias,
                             stride, padding)


def conv2d_backward_input(grad_output, weight, input_shape, stride, padding):
    return _C.conv2d_backward_input(np.ascontiguousarray(grad_output),
                                    np.ascontiguousarray(weight), input_shape, stride, padding)


def conv2d_backward_weight(grad_output, x, weight_shape, stride, padding):
    return _C.conv2d_backward_weight(np.ascontiguousarray(grad_output), np.ascontiguousarray(x),
                                     weight_shape, stride, padding)


def conv2d_relu_pool_forward(x, weight, bias, stride, padding):
    if bias is not None:
        bias = np.ascontiguousarray(bias)
    return _C.conv2d_relu_pool_forward(np.ascontiguousarray(x), np.ascontiguousarray(weight),
                                       bias, stride, padding)


def conv2d_relu_pool_backward(grad_output, codes, x, weight, stride, padding, need_x,
                              need_weight, need_bias):
    return _C.conv2d_relu_pool_backward(
        np.ascontiguousarray(grad_output), np.ascontiguousarray(codes), np.ascontiguousarray(x),
        np.ascontiguousarray(weight), stride, padding, bool(need_x), bool(need_weight),
        bool(need_bias))
