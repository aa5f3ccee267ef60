"""The NumPy functions of DeviceArray's protocol (``__array_function__``): the reductions,
creation, shape and joining functions that cunn's ops and autograd call on arrays, as
runtime kernels and views; any other function raises TypeError naming itself."""
import math

import numpy as np

from cunn._backends.cuda.array import (BOOL, FLOAT32, INT64, DeviceArray, _normalise_axis,
                                       broadcast_strides, empty, full, to_device)
from cunn._backends.cuda.ufuncs import (_as, _check_operand, _compute_dtype, _copy_into,
                                        _expanded, _matmul, broadcast_shape, ufunc, unsupported)

__all__ = ["array_function", "maximum_along"]

_FUNCTIONS = {}


def _implements(*functions):
    def register(implementation):
        for function in functions:
            _FUNCTIONS[function] = implementation
        return implementation
    return register


def array_function(function, args, kwargs):
    implementation = _FUNCTIONS.get(function)
    if implementation is None:
        raise unsupported(f"np.{function.__name__}")
    return implementation(*args, **kwargs)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    normalised = sorted(_normalise_axis(a, ndim) for a in axes)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(normalised) if ndim else ()


def _reduction_plan(x, axes):
    """(a contiguous array, outer, length, inner) reading the reduced axes of ``x`` as the
    middle of (outer, length, inner); the reduced axes are moved last if they do not
    follow each other."""
    shape = x.shape
    if axes and list(axes) == list(range(axes[0], axes[-1] + 1)):
        first, last = axes[0], axes[-1]
        return (x.contiguous(), math.prod(shape[:first]), math.prod(shape[first:last + 1]),
                math.prod(shape[last + 1:]))
    kept = [d for d in range(x.ndim) if d not in axes]
    moved = x.transpose(kept + list(axes)).contiguous()
    return moved, math.prod(shape[d] for d in kept), math.prod(shape[d] for d in axes), 1


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if d in axes else size for d, size in enumerate(shape))
    return tuple(size for d, size in enumerate(shape) if d not in axes)


def _no_extras(name, kwargs):
    extras = [key for key, value in kwargs.items() if value is not None and key != "initial"
              and not (key == "where" and value is True)]
    if extras:
        raise unsupported(f"np.{name} with {', '.join(extras)}")


def _return(result, out):
    return result if out is None else _copy_into(out, result)


@_implements(np.sum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_extras("sum", kwargs)
    if a.dtype.kind in "bu":
        a = a.astype(INT64)
    axes = _axes(axis, a.ndim)
    shape = _reduced_shape(a.shape, axes, keepdims)
    source, outer, length, inner = _reduction_plan(a, axes)
    result = empty(shape, a.dtype)
    if result.size:
        if length:
            a.runtime.sum(result.ptr, source.ptr, outer, length, inner, a.runtime_dtype)
        else:
            result.fill(0)
    if dtype is not None and np.dtype(dtype) != result.dtype:
        result = result.astype(dtype)
    return _return(result, out)


@_implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    if a.dtype != FLOAT32:
        raise unsupported(f"np.mean of a {a.dtype} array")
    total = _sum(a, axis, None, None, keepdims, **kwargs)
    count = a.size // max(total.size, 1) if a.size else 0
    result = ufunc(np.multiply, total, 1.0 / count if count else math.nan)
    return _return(result if dtype is None else result.astype(dtype), out)


def maximum_along(x, axis, keepdims=False, want_indices=True):
    """(values, int64 indices or None) of the maximum of float32 ``x`` along ``axis`` (an
    int, a tuple, or None for all; the indices count in C order over the reduced axes):
    the first index on ties, a NaN wins (the twin's rule)."""
    if x.dtype != FLOAT32:
        raise unsupported(f"max/argmax of a {x.dtype} cuda array")
    axes = _axes(axis, x.ndim)
    if any(x.shape[d] == 0 for d in axes):
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    shape = _reduced_shape(x.shape, axes, keepdims)
    source, outer, length, inner = _reduction_plan(x, axes)
    values = empty(shape, FLOAT32)
    indices = empty(shape, INT64) if want_indices else None
    if values.size:
        x.runtime.max(values.ptr, indices.ptr if want_indices else 0, source.ptr, outer, length,
                      inner)
    return values, indices


def _extreme(a, axis, keepdims, sign, want_indices):
    source = a if sign > 0 else ufunc(np.negative, a)
    if a.ndim == 0:
        return source.copy() if sign > 0 else a.copy(), full((), 0, INT64)
    values, indices = maximum_along(source, axis, keepdims, want_indices)
    return (values if sign > 0 else ufunc(np.negative, values)), indices


@_implements(np.max, np.amax)
def _max(a, axis=None, out=None, keepdims=False, **kwargs):
    _no_extras("max", kwargs)
    return _return(_extreme(a, axis, keepdims, 1, False)[0], out)


@_implements(np.min, np.amin)
def _min(a, axis=None, out=None, keepdims=False, **kwargs):
    _no_extras("min", kwargs)
    return _return(_extreme(a, axis, keepdims, -1, False)[0], out)


@_implements(np.argmax)
def _argmax(a, axis=None, out=None, keepdims=False):
    return _return(_extreme(a, axis, keepdims, 1, True)[1], out)


@_implements(np.argmin)
def _argmin(a, axis=None, out=None, keepdims=False):
    return _return(_extreme(a, axis, keepdims, -1, True)[1], out)


@_implements(np.any)
def _any(a, axis=None, out=None, keepdims=False, **kwargs):
    return _return(ufunc(np.greater, _sum(a != 0, axis, keepdims=keepdims), 0), out)


@_implements(np.all)
def _all(a, axis=None, out=None, keepdims=False, **kwargs):
    return _return(ufunc(np.equal, _sum(a == 0, axis, keepdims=keepdims), 0), out)


def _like(name):
    def make(prototype, *args, dtype=None, order="K", subok=True, shape=None, **kwargs):
        shape = prototype.shape if shape is None else shape
        dtype = prototype.dtype if dtype is None else dtype
        if name == "empty":
            return empty(shape, dtype)
        value = {"zeros": 0, "ones": 1}.get(name)
        if name == "full":
            value = args[0] if args else kwargs.pop("fill_value")
        return full(shape, value, dtype)
    return make


_implements(np.empty_like)(_like("empty"))
_implements(np.zeros_like)(_like("zeros"))
_implements(np.ones_like)(_like("ones"))
_implements(np.full_like)(_like("full"))


@_implements(np.broadcast_to)
def _broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return DeviceArray(array._storage, shape, array.dtype, broadcast_strides(array, shape),
                       array.offset, base=array)


@_implements(np.copy)
def _copy(a, order="K", subok=False):
    return a.copy()



@_implements(np.where)
def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise unsupported("np.where with the condition alone (nonzero)")
    for value in (condition, x, y):
        _check_operand(value)
    if _compute_dtype("where", (x, y)) != FLOAT32:
        raise unsupported("np.where of integer cuda arrays")
    shapes = [np.shape(v) if not isinstance(v, DeviceArray) else v.shape
              for v in (condition, x, y)]
    shape = broadcast_shape(*shapes)
    mask = _expanded(condition != 0 if condition.dtype != BOOL else condition, shape, BOOL)
    first, second = _expanded(x, shape, FLOAT32), _expanded(y, shape, FLOAT32)
    out = empty(shape, FLOAT32)
    if out.size:
        out.runtime.where(out.ptr, mask.ptr, first.ptr, second.ptr, out.size)
    return out


@_implements(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    result = a
    if a_min is not None:
        result = ufunc(np.maximum, result, a_min)
    if a_max is not None:
        result = ufunc(np.minimum, result, a_max)
    return _return(result if result is not a else a.copy(), out)


@_implements(np.reshape)
def _reshape(a, *args, **kwargs):
    shape = args[0] if args else kwargs.get("shape", kwargs.get("newshape"))
    return a.reshape(shape)


@_implements(np.transpose)
def _transpose(a, axes=None):
    return a.transpose(axes) if axes is not None else a.transpose()


@_implements(np.swapaxes)
def _swapaxes(a, axis1, axis2):
    return a.swapaxes(axis1, axis2)


@_implements(np.squeeze)
def _squeeze(a, axis=None):
    return a.squeeze(axis)


@_implements(np.expand_dims)
def _expand_dims(a, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    ndim = a.ndim + len(axes)
    axes = sorted(_normalise_axis(x, ndim) for x in axes)
    shape, strides, source = [], [], iter(zip(a.shape, a.strides))
    for dim in range(ndim):
        size, stride = (1, 0) if dim in axes else next(source)
        shape.append(size)
        strides.append(stride)
    return a._view(tuple(shape), tuple(strides))


@_implements(np.shape)
def _shape(a):
    return a.shape


@_implements(np.ndim)
def _ndim(a):
    return a.ndim


@_implements(np.size)
def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


@_implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        raise unsupported("np.copyto with where=")
    dst[...] = src


@_implements(np.concatenate)
def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = [_check_operand(a) for a in arrays]
    if not arrays or not all(isinstance(a, DeviceArray) for a in arrays):
        raise unsupported("np.concatenate of anything but cuda arrays")
    first = arrays[0]
    axis = _normalise_axis(axis, first.ndim)
    dtype = np.dtype(dtype) if dtype is not None else np.result_type(
        *[np.empty(0, a.dtype) for a in arrays])
    for a in arrays:
        if a.ndim != first.ndim or a.shape[:axis] + a.shape[axis + 1:] != \
                first.shape[:axis] + first.shape[axis + 1:]:
            raise ValueError(f"concatenate: all the input array dimensions except for the "
                             f"concatenation axis must match, got {first.shape} and {a.shape}")
    # With the axis moved first, each piece is one contiguous run of the result.
    order = [axis] + [d for d in range(first.ndim) if d != axis]
    total = sum(a.shape[axis] for a in arrays)
    moved_shape = (total,) + tuple(first.shape[d] for d in order[1:])
    moved = empty(moved_shape, dtype)
    start = 0
    for a in arrays:
        stop = start + a.shape[axis]
        if stop > start:
            moved[start:stop] = _as(a, dtype).transpose(order)
        start = stop
    result = moved.transpose(list(np.argsort(order))).contiguous()
    return _return(result, out)


@_implements(np.put_along_axis)
def _put_along_axis(arr, indices, values, axis):
    """arr's elements at ``indices`` along ``axis`` set to ``values``, for indices that do
    not repeat within a slice (what max's and topk's backward pass): the values and a
    mask are scattered through embedding_backward, then selected with where."""
    if not arr.is_contiguous() or arr.dtype != FLOAT32 or axis is None:
        raise unsupported("np.put_along_axis into anything but a contiguous float32 array "
                          "along one axis")
    axis = _normalise_axis(axis, arr.ndim)
    indices = indices.astype(INT64, copy=False).contiguous()
    values = _expanded(values, indices.shape, FLOAT32)
    # The flat position of each target: its coordinates off the axis (a host table of
    # indices.size entries) plus the index times the axis's stride.
    grid = np.indices(indices.shape, sparse=True)
    offsets = sum(coordinate * stride for d, (coordinate, stride)
                  in enumerate(zip(grid, arr.strides)) if d != axis)
    positions = ufunc(np.add, ufunc(np.multiply, indices, arr.strides[axis]),
                      to_device(np.broadcast_to(np.asarray(offsets, np.int64), indices.shape)))
    scattered, hits = empty(arr.shape, FLOAT32), empty(arr.shape, FLOAT32)
    if indices.size:
        for out, source in ((scattered, values), (hits, full(indices.shape, 1.0, FLOAT32))):
            arr.runtime.embedding_backward(out.ptr, source.ptr, positions.ptr, indices.size,
                                           arr.size, 1, -1)
        arr[...] = _where(ufunc(np.greater, hits, 0), scattered, arr)


@_implements(np.dot)
def _dot(a, b, out=None):
    """np.dot of 1-D and 2-D float32 arrays (matmul's cases; a 0-d operand multiplies)."""
    if not isinstance(a, DeviceArray) or not isinstance(b, DeviceArray) or a.ndim == 0 \
            or b.ndim == 0:
        return _return(ufunc(np.multiply, a, b), out)
    if a.ndim > 2 or b.ndim > 2:
        raise unsupported("np.dot of arrays with more than 2 dims (use matmul)")
    return _matmul(a, b, out)


@_implements(np.count_nonzero)
def _count_nonzero(a, axis=None, keepdims=False):
    return _sum(ufunc(np.not_equal, a, 0), axis, keepdims=keepdims)


@_implements(np.split)
def _split(ary, indices_or_sections, axis=0):
    """Views of ``ary`` between the given boundaries along ``axis`` (or into equal parts)."""
    axis = _normalise_axis(axis, ary.ndim)
    size = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or size % sections:
            raise ValueError("array split does not result in an equal division")
        boundaries = [size // sections * i for i in range(1, sections)]
    else:
        boundaries = [int(i) for i in indices_or_sections]
    edges = [0] + boundaries + [size]
    lead = (slice(None),) * axis
    return [ary[lead + (slice(start, stop),)] for start, stop in zip(edges[:-1], edges[1:])]


@_implements(np.tile)
def _tile(A, reps):
    """``A`` repeated ``reps`` times along each axis: a broadcast view interleaving the
    repeats with the axes, copied once."""
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(len(reps), A.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - A.ndim) + A.shape
    interleaved = A.reshape(tuple(size for dim in shape for size in (1, dim)))
    expanded = _broadcast_to(interleaved, tuple(x for pair in zip(reps, shape) for x in pair))
    return _expanded(expanded, expanded.shape, A.dtype).reshape(
        tuple(r * s for r, s in zip(reps, shape)))


@_implements(np.stack)
def _stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    axis = _normalise_axis(axis, arrays[0].ndim + 1)
    return _concatenate([_expand_dims(a, axis) for a in arrays], axis, out, dtype)


@_implements(np.result_type)
def _result_type(*values):
    return np.result_type(*[np.empty(0, v.dtype) if isinstance(v, DeviceArray) else v
                            for v in values])

