"""avg_pool kernels: avg_pool2d and adaptive_avg_pool2d (NCHW, float32), over cunn._C.
Inputs are made C-contiguous here; dtypes are not converted, so the binding refuses them."""
import numpy as np

from cunn import _C

__all__ = ["avg_pool2d_forward", "avg_pool2d_backward",
           "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]


def avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=True):
    return _C.avg_pool2d_forward(np.ascontiguousarray(x), kernel_size, stride, padding,
                                 count_include_pad)


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride, padding,
                        count_include_pad=True):
    return _C.avg_pool2d_backward(np.ascontiguousarray(grad_output), input_shape, kernel_size,
                                  stride, padding, count_include_pad)


def adaptive_avg_pool2d_forward(x, output_size):
    return _C.adaptive_avg_pool2d_forward(np.ascontiguousarray(x), output_size)


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    return _C.adaptive_avg_pool2d_backward(np.ascontiguousarray(grad_output), input_shape)
