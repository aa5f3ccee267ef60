"""Central finite differences for checking the NumPy reference's gradients in float64."""
import numpy as np


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
