"""Placeholder Tensor (wraps a NumPy array); the autograd Tensor replaces it."""
import numpy as np


class Tensor:
    def __init__(self, array):
        self.data = array

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self):
        return self.data

    @property
    def shape(self):
        return self.data.shape


def from_numpy(array):
    """A Tensor sharing memory with ``array``."""
    return Tensor(np.asarray(array))
