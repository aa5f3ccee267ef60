"""normalization kernels: batch norm (statistics, forward, backward) and layer norm
(float32), over cunn._C. Inputs are made C-contiguous here; dtypes are not converted."""
import numpy as np

from cunn import _C

__all__ = ["batch_norm_statistics", "batch_norm_forward", "batch_norm_backward",
           "layer_norm_forward", "layer_norm_backward"]


def _optional(array):
    return None if array is None else np.ascontiguousarray(array)


def batch_norm_statistics(x):
    return _C.batch_norm_statistics(np.ascontiguousarray(x))


def batch_norm_forward(x, mean, var, weight, bias, eps):
    return _C.batch_norm_forward(np.ascontiguousarray(x), np.ascontiguousarray(mean),
                                 np.ascontiguousarray(var), _optional(weight), _optional(bias),
                                 eps)


def batch_norm_backward(grad_output, x, mean, invstd, weight, batch_statistics):
    return _C.batch_norm_backward(np.ascontiguousarray(grad_output), np.ascontiguousarray(x),
                                  np.ascontiguousarray(mean), np.ascontiguousarray(invstd),
                                  _optional(weight), batch_statistics)


def layer_norm_forward(x, normalized_shape, weight, bias, eps):
    return _C.layer_norm_forward(np.ascontiguousarray(x), tuple(normalized_shape),
                                 _optional(weight), _optional(bias), eps)


def layer_norm_backward(grad_output, x, mean, invstd, weight, normalized_shape):
    return _C.layer_norm_backward(np.ascontiguousarray(grad_output), np.ascontiguousarray(x),
                                  np.ascontiguousarray(mean), np.ascontiguousarray(invstd),
                                  _optional(weight), tuple(normalized_shape))
