"""Axis reductions, reference: sum over dims; max along one dim with its argmax.

max follows PyTorch: the first index wins on ties, and a NaN in a slice makes the
maximum NaN with the index of the first NaN.
"""
import builtins

import numpy as np

from ._common import float_dtype

__all__ = ["sum", "max"]


def _normalise_dims(op, dims, ndim):
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    rank = builtins.max(ndim, 1)  # a 0-d input accepts dims 0 and -1, as in PyTorch
    normalised = []
    for dim in dims:
        if not -rank <= dim < rank:
            raise IndexError(f"{op}: dim {dim} out of range for a {ndim}-D input")
        normalised.append(dim % rank)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{op}: dims must be distinct, got {tuple(dims)}")
    return tuple(normalised)


def sum(x, dims=None, keepdim=False):  # noqa: A001  (the contract's name)
    x = np.asarray(x)
    dtype = float_dtype(x) if x.dtype.kind == "f" else x.dtype
    axes = _normalise_dims("sum", dims, x.ndim) if x.ndim else None
    return np.asarray(np.sum(x, axis=axes, keepdims=keepdim, dtype=dtype))


def max(x, dim, keepdim=False):  # noqa: A001
    x = np.asarray(x)
    if x.ndim == 0:
        return x.copy(), np.zeros((), dtype=np.int64)
    (axis,) = _normalise_dims("max", (dim,), x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"max: cannot reduce an empty dim {dim} of shape {x.shape}")
    indices = np.argmax(x, axis=axis)  # argmax returns the first NaN, and first of ties
    values = np.take_along_axis(x, np.expand_dims(indices, axis), axis=axis)
    if not keepdim:
        values = np.squeeze(values, axis=axis)
    else:
        indices = np.expand_dims(indices, axis)
    # np.ascontiguousarray would turn the 0-d maximum of a 1-D input into shape (1,)
    return np.asarray(values, order="C"), indices.astype(np.int64)
