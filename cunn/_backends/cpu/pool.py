"""pool kernels: max_pool2d (NCHW, float32; int64 indices), over cunn._C.

Inputs of any layout are copied to C-contiguous here (np.ascontiguousarray returns a
C-contiguous array as it is); dtypes are not converted, so the binding refuses them.
"""
import numpy as np

from cunn import _C

__all__ = ["max_pool2d_forward", "max_pool2d_backward"]


def max_pool2d_forward(x, kernel_size, stride, padding):
    return _C.max_pool2d_forward(np.ascontiguousarray(x), kernel_size, stride, padding)


def max_pool2d_backward(grad_output, indices, input_shape):
    return _C.max_pool2d_backward(np.ascontiguousarray(grad_output),
                                  np.ascontiguousarray(indices), input_shape)
