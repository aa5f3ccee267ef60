"""reduce kernels: sum over axes (double accumulation, thread-count independent) and
max along an axis with int64 indices, over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["sum", "max"]


def sum(x, dims=None, keepdim=False):  # noqa: A001  (the contract's name)
    return _C.sum(np.asarray(x, order="C"), dims, keepdim)


def max(x, dim, keepdim=False):  # noqa: A001
    return _C.max(np.asarray(x, order="C"), dim, keepdim)
