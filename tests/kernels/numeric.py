"""Helpers of the kernel tests: central finite differences for checking the NumPy
reference's gradients in float64, and running a call with a given thread count."""
import numpy as np

from cunn import _C


def finite_difference(function, array, eps=1e-6):
    """d function() / d array, perturbing ``array`` in place one element at a time."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = function()
        array[index] = saved - eps
        minus = function()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def with_threads(count, function):
    """function() run with ``count`` kernel threads, the previous count restored after."""
    saved = _C.get_num_threads()
    _C.set_num_threads(count)
    try:
        return function()
    finally:
        _C.set_num_threads(saved)
