"""sum over dims and max along a dim on the cuda backend (the runtime's sum and max
kernels over (outer, length, inner) views; functions.py plans the layout)."""
import builtins

import numpy as np

from cunn._backends.cuda import functions
from cunn._backends.cuda._common import INT64, device, full

__all__ = ["sum", "max"]


def _dims(op, dims, ndim):
    if dims is None:
        return None
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    rank = builtins.max(ndim, 1)
    for dim in dims:
        if not -rank <= dim < rank:
            raise IndexError(f"{op}: dim {dim} out of range for a {ndim}-D input")
    if len({dim % rank for dim in dims}) != len(dims):
        raise ValueError(f"{op}: dims must be distinct, got {dims}")
    return dims


def sum(x, dims=None, keepdim=False):  # noqa: A001  (the contract's name)
    x = device("sum", x, "x", x.dtype if x.dtype == INT64 else np.float32)
    return np.sum(x, axis=_dims("sum", dims, x.ndim), keepdims=keepdim)


def max(x, dim, keepdim=False):  # noqa: A001
    x = device("max", x, "x")
    if x.ndim == 0:
        _dims("max", (dim,), 0)
        return x.copy(), full((), 0, INT64)
    (axis,) = _dims("max", (dim,), x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"max: cannot reduce an empty dim {dim} of shape {x.shape}")
    return functions.maximum_along(x, axis, keepdim)
