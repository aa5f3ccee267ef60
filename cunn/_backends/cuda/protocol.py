"""The NumPy protocol of DeviceArray: the ufuncs and functions cunn's ops and autograd
call on arrays, each as runtime kernels; anything else raises TypeError naming itself.

Dtypes follow PyTorch where NumPy would widen: float32 with an integer stays float32,
division of integers gives float32, comparisons give bool. A number, a NumPy scalar or a
0-d host array may meet a device array (as 0-d CPU tensors may in PyTorch); a host array
with dims is a mixed-device RuntimeError.
"""
import math

import numpy as np

from cunn._backends.cuda.array import (BOOL, FLOAT32, INT64, RUNTIME_DTYPES, DeviceArray,
                                       _normalise_axis, broadcast_strides, empty, full,
                                       is_scalar, to_device)

__all__ = ["array_ufunc", "array_function", "ufunc", "unsupported"]

_BINARY = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
           np.maximum: "maximum", np.minimum: "minimum", np.power: "pow",
           np.equal: "eq", np.not_equal: "ne", np.less: "lt", np.less_equal: "le",
           np.greater: "gt", np.greater_equal: "ge"}
_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))
_UNARY = {np.negative: "neg", np.exp: "exp", np.log: "log", np.sqrt: "sqrt",
          np.absolute: "abs", np.sign: "sign", np.square: "square", np.reciprocal: "reciprocal"}


def unsupported(name):
    return TypeError(f"{name}: not supported for cuda arrays; copy to the host first with "
                     ".cpu() (a Tensor) or .get() (a DeviceArray)")


def _mixed(value):
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                        f"two devices, cuda:0 and cpu (a {type(value).__name__} of shape "
                        f"{np.shape(value)}); move it with .cuda() / .to('cuda') first")


def _check_operand(value):
    if not isinstance(value, DeviceArray) and not is_scalar(value):
        if isinstance(value, np.ndarray):
            raise _mixed(value)
        raise TypeError(f"cuda: unsupported operand of type {type(value).__name__}")
    return value


def _scalar_kind(value):
    kind = np.asarray(value).dtype.kind
    return "f" if kind in "fc" else "i"


def _compute_dtype(op, operands):
    """float32 when any operand is floating (or the op divides), else int64."""
    if op in ("div", "pow"):
        return FLOAT32
    for value in operands:
        kind = value.dtype.kind if isinstance(value, DeviceArray) else _scalar_kind(value)
        if kind == "f":
            return FLOAT32
    return INT64


def _output(out, shape, dtype, name):
    """(the array to compute into, the user's out to cast into afterwards or None)."""
    if out is None:
        return empty(shape, dtype), None
    if not isinstance(out, DeviceArray):
        raise _mixed(out)
    if out.shape != tuple(shape):
        raise ValueError(f"{name}: out has shape {out.shape}, the result {tuple(shape)}")
    if not out.is_contiguous():
        raise TypeError(f"{name}: out= must be a C-contiguous cuda array")
    if out.dtype == dtype:
        return out, None
    return empty(shape, dtype), out


def _finish(result, out):
    if out is None:
        return result
    if result.size:
        out.runtime.cast(out.ptr, out.runtime_dtype, result.ptr, result.runtime_dtype,
                         result.size)
    return out


def _as(value, dtype):
    return value.astype(dtype, copy=False) if value.dtype != dtype else value


def broadcast_shape(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError("operands could not be broadcast together with shapes "
                         + " ".join(str(tuple(shape)) for shape in shapes)) from None


def _binary(name, op, a, b, out):
    dtype = _compute_dtype(op, (a, b))
    result_dtype = BOOL if op in _COMPARISONS else dtype
    scalar_first = not isinstance(a, DeviceArray)
    if dtype == FLOAT32 and (scalar_first or not isinstance(b, DeviceArray)):
        # The scalar kernel: x op value, or value op x.
        array, value = (b, a) if scalar_first else (a, b)
        array = _as(array, FLOAT32).contiguous()
        result, cast_into = _output(out, array.shape, result_dtype, name)
        if array.size:
            array.runtime.scalar(op, result.ptr, array.ptr, array.size,
                                 float(np.asarray(value).item()), scalar_first)
        return _finish(result, cast_into)
    a = _as(a, dtype) if isinstance(a, DeviceArray) else full((), np.asarray(a).item(), dtype)
    b = _as(b, dtype) if isinstance(b, DeviceArray) else full((), np.asarray(b).item(), dtype)
    shape = broadcast_shape(a.shape, b.shape)
    result, cast_into = _output(out, shape, result_dtype, name)
    if result.size:
        a.runtime.binary(op, result.ptr, a.ptr, broadcast_strides(a, shape), b.ptr,
                         broadcast_strides(b, shape), shape, RUNTIME_DTYPES[dtype])
    return _finish(result, cast_into)


def _unary(name, op, x, out):
    if x.dtype == BOOL:
        raise TypeError(f"{name}: not supported for bool cuda arrays")
    if x.dtype != FLOAT32:
        if op == "neg":
            return _binary(name, "sub", 0, x, out)
        if op == "abs":
            return ufunc(np.maximum, x, ufunc(np.negative, x), out=out)
        if op == "square":
            return _binary(name, "mul", x, x, out)
        if op == "sign":
            positive = ufunc(np.greater, x, 0).astype(INT64)
            return ufunc(np.subtract, positive, ufunc(np.less, x, 0).astype(INT64), out=out)
        x = x.astype(FLOAT32)
    x = x.contiguous()
    result, cast_into = _output(out, x.shape, FLOAT32, name)
    if x.size:
        x.runtime.unary(op, result.ptr, x.ptr, x.size)
    return _finish(result, cast_into)


def _logical(name, first, second, out):
    first = _check_operand(first)
    as_int = [value.astype(INT64) if isinstance(value, DeviceArray) else int(bool(value))
              for value in (first, second)]
    joined = ufunc(np.multiply if name.endswith("and") else np.maximum, *as_int)
    return ufunc(np.not_equal, joined, 0, out=out)


def _tanh(x, out):
    x = _as(x, FLOAT32).contiguous()
    result, cast_into = _output(out, x.shape, FLOAT32, "tanh")
    if x.size:
        x.runtime.activation_forward("tanh", result.ptr, x.ptr, x.size, 0.0, 0.0)
    return _finish(result, cast_into)


def _floor(x):
    """floor of float32 ``x`` as int64: the cast truncates toward zero, so subtract one
    where that rounded up."""
    truncated = x.astype(INT64)
    return ufunc(np.subtract, truncated, ufunc(np.less, x, truncated.astype(FLOAT32)).astype(INT64))


def _floor_divide(a, b):
    """(a // b, a % b) with NumPy's signs (the remainder takes the divisor's). Integers: a
    float32 quotient, then a second round on the remainder, whose quotient is small enough
    for float32 to be exact, so the pair is exact for |a| up to about 2^48."""
    dtype = _compute_dtype("floor_divide", (a, b))
    if dtype == FLOAT32:
        quotient = _floor(ufunc(np.true_divide, a, b))
        quotient_float = quotient.astype(FLOAT32)
        return quotient_float, ufunc(np.subtract, a, ufunc(np.multiply, quotient_float, b))
    divisor = b.astype(FLOAT32) if isinstance(b, DeviceArray) else float(b)
    quotient, remainder = None, a
    for _ in range(2):
        step = _floor(ufunc(np.true_divide, _as(remainder, FLOAT32) if isinstance(
            remainder, DeviceArray) else float(remainder), divisor))
        quotient = step if quotient is None else ufunc(np.add, quotient, step)
        remainder = ufunc(np.subtract, remainder, ufunc(np.multiply, step, b))
    return quotient, remainder


def ufunc(function, *inputs, out=None):
    """``function(*inputs, out=out)`` for the ufuncs device arrays support."""
    name = function.__name__
    for value in inputs:
        _check_operand(value)
    if function in _BINARY:
        return _binary(name, _BINARY[function], inputs[0], inputs[1], out)
    if function in _UNARY:
        return _unary(name, _UNARY[function], inputs[0], out)
    if function in (np.logical_and, np.logical_or, np.bitwise_and, np.bitwise_or):
        return _logical(name, inputs[0], inputs[1], out)
    if function is np.logical_not:
        return ufunc(np.equal, inputs[0], 0, out=out)
    if function is np.isnan:
        return ufunc(np.not_equal, inputs[0], inputs[0], out=out)
    if function is np.isinf:
        return ufunc(np.equal, ufunc(np.absolute, inputs[0]), np.inf, out=out)
    if function is np.isfinite:  # NaN < inf is false too
        return ufunc(np.less, ufunc(np.absolute, inputs[0]), np.inf, out=out)
    if function is np.tanh:
        return _tanh(inputs[0], out)
    if function is np.positive:
        return inputs[0].copy() if out is None else _copy_into(out, inputs[0])
    if function is np.matmul:
        return _matmul(inputs[0], inputs[1], out)
    if function in (np.floor_divide, np.remainder):
        result = _floor_divide(*inputs)[0 if function is np.floor_divide else 1]
        return result if out is None else _copy_into(out, result)
    raise unsupported(f"np.{name}")


def _copy_into(out, value):
    out[...] = value
    return out


def _rows(x, indices):
    """(x as a contiguous (V, D) float32 table, int64 indices with negatives from the end)."""
    if x.dtype != FLOAT32 or x.ndim == 0:
        raise unsupported("integer-array indexing of anything but float32 arrays with dims")
    table = x.reshape(x.shape[0], -1) if x.size else empty((x.shape[0], 0), FLOAT32)
    indices = indices.astype(INT64, copy=False).contiguous()
    wrapped = ufunc(np.multiply, ufunc(np.less, indices, 0).astype(INT64), x.shape[0])
    return table.contiguous(), ufunc(np.add, indices, wrapped)


def take_rows(x, indices):
    """x[indices] for integer indices into the first axis: the embedding gather, whose error
    word reports an index out of range as IndexError."""
    table, indices = _rows(x, indices)
    out = empty(indices.shape + x.shape[1:], FLOAT32)
    if out.size:
        error = full((1,), 0.0, FLOAT32)  # 4 zero bytes: the int32 error word
        x.runtime.embedding_forward(out.ptr, error.ptr, table.ptr, indices.ptr, indices.size,
                                    table.shape[0], table.shape[1])
        word = np.zeros(1, np.int32)
        x.runtime.copy_to_host(word, error.ptr)
        if word[0]:
            raise IndexError(f"index out of range for axis 0 with size {x.shape[0]}")
    return out


def _add_at(target, key, values):
    """np.add.at(target, key, values) for a contiguous float32 target. Integer indices into
    the first axis (device or host) scatter rows through embedding_backward; any other host
    key gives each element's flat position by indexing a host table of positions with the
    key (a copy of one int64 per indexed element: the backward of indexing, not a training
    step's hot path); embedding_backward then sums the values there, repeats included."""
    if not target.is_contiguous() or target.dtype != FLOAT32:
        raise unsupported("np.add.at into anything but a contiguous float32 array")
    from cunn._backends.cuda.array import _row_index
    rows = _row_index(key)
    if rows is not None:
        table, rows = _rows(target, rows)
        values = _expanded(values, rows.shape + target.shape[1:], FLOAT32)
        scattered = empty(table.shape, FLOAT32)
        if scattered.size:
            target.runtime.embedding_backward(scattered.ptr, values.ptr, rows.ptr, rows.size,
                                              table.shape[0], table.shape[1], -1)
            ufunc(np.add, target, scattered.reshape(target.shape), out=target)
        return
    positions = np.arange(target.size, dtype=np.int64).reshape(target.shape)[key]
    values = _expanded(values, positions.shape, FLOAT32)
    positions = to_device(np.ascontiguousarray(positions))
    scattered = empty(target.shape, FLOAT32)
    if target.size:
        target.runtime.embedding_backward(scattered.ptr, values.ptr, positions.ptr,
                                          positions.size, target.size, 1, -1)
        ufunc(np.add, target, scattered, out=target)


def array_ufunc(function, method, inputs, kwargs):
    if method == "at" and function is np.add and not kwargs:
        return _add_at(*inputs)
    if method != "__call__":
        raise unsupported(f"np.{function.__name__}.{method}")
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        (out,) = out
    kwargs.pop("casting", None)  # every cast on the device is the 'unsafe' one
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        raise unsupported(f"np.{function.__name__} with {', '.join(kwargs)}")
    result = ufunc(function, *inputs, out=out)
    if dtype is not None and result.dtype != np.dtype(dtype):
        result = result.astype(dtype)
    return result


# ---- matmul (2-D float32 through the GEMM kernel) ----

def _gemm_operand(x):
    """(array, transposed, leading dimension) reading ``x`` with no copy when it is
    C-contiguous or the transpose of a C-contiguous array."""
    rows, cols = x.shape
    if x.is_contiguous():
        return x, False, max(cols, 1)
    if x.T.is_contiguous():
        return x, True, max(rows, 1)
    return x.copy(), False, max(cols, 1)


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """alpha * op(a) @ op(b) (+ beta * out): float32 2-D device arrays."""
    a_op = a.T if trans_a else a
    b_op = b.T if trans_b else b
    (m, k), (k2, n) = a_op.shape, b_op.shape
    if k != k2:
        raise ValueError(f"gemm: shapes {a_op.shape} and {b_op.shape} cannot be multiplied")
    if out is None:
        out, beta = empty((m, n), FLOAT32), 0.0
    elif out.shape != (m, n) or out.dtype != FLOAT32 or not out.is_contiguous():
        raise ValueError(f"gemm: out must be a contiguous float32 ({m}, {n}) array")
    if m and n:
        a_data, a_trans, lda = _gemm_operand(a_op)
        b_data, b_trans, ldb = _gemm_operand(b_op)
        a.runtime.gemm(a_trans, b_trans, m, n, k, float(alpha), a_data.ptr, lda, b_data.ptr, ldb,
                       float(beta), out.ptr, max(n, 1))
    return out


def _matmul(a, b, out):
    """NumPy's matmul of float32 arrays: 2-D through gemm; vectors promoted and dropped;
    stacks through gemm_strided_batched (a 2-D operand is reused for every matrix through
    a zero stride, broadcast stacks are expanded first)."""
    if not (isinstance(a, DeviceArray) and isinstance(b, DeviceArray)):
        raise _mixed(b if isinstance(a, DeviceArray) else a)
    if a.dtype != FLOAT32 or b.dtype != FLOAT32:
        raise unsupported("matmul of arrays other than float32")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension")
    if a.ndim == 2 and b.ndim == 2:
        result = gemm(a, b)
        return result if out is None else _copy_into(out, result)
    left = a.reshape(1, -1) if a.ndim == 1 else a
    right = b.reshape(-1, 1) if b.ndim == 1 else b
    (m, k), (k_right, n) = left.shape[-2:], right.shape[-2:]
    if k != k_right:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({k} != {k_right})")
    batch = broadcast_shape(left.shape[:-2], right.shape[:-2])
    count = math.prod(batch)
    operands = []
    for operand, rows, cols in ((left, m, k), (right, k, n)):
        if operand.ndim == 2:
            operands.append((operand.contiguous(), 0))
        else:
            operands.append((_expanded(operand, batch + (rows, cols), FLOAT32), rows * cols))
    (left, stride_left), (right, stride_right) = operands
    result = empty(batch + (m, n), FLOAT32)
    if result.size:
        if k:
            a.runtime.gemm_strided_batched(False, False, m, n, k, 1.0, left.ptr, max(k, 1),
                                           stride_left, right.ptr, max(n, 1), stride_right, 0.0,
                                           result.ptr, max(n, 1), m * n, count)
        else:
            result.fill(0)
    if a.ndim == 1:
        result = result.squeeze(-2)
    if b.ndim == 1:
        result = result.squeeze(-1)
    return result if out is None else _copy_into(out, result)


# ---- functions ----

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


def _expanded(value, shape, dtype):
    """``value`` (a device array or a number) as a contiguous ``shape`` array of ``dtype``."""
    if not isinstance(value, DeviceArray):
        return full(shape, np.asarray(value).item(), dtype)
    value = _as(value, dtype)
    if value.shape == tuple(shape) and value.is_contiguous():
        return value
    out = empty(shape, dtype)
    out._copy_from(value)
    return out


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

