"""The ufuncs of DeviceArray's NumPy protocol (``__array_ufunc__``): the elementwise math,
comparisons, matmul and ``np.add.at`` that cunn's ops and autograd apply to arrays, each as
runtime kernels; any other ufunc raises TypeError naming itself. functions.py holds the
NumPy functions (``__array_function__``).

Dtypes follow PyTorch where NumPy would widen: float32 with an integer stays float32,
division of integers gives float32, comparisons give bool. A number, a NumPy scalar or a
0-d host array may meet a device array (as 0-d CPU tensors may in PyTorch); a host array
with dims is a mixed-device RuntimeError.
"""
import math

import numpy as np

from cunn._backends.cuda.array import (BOOL, FLOAT32, INT64, RUNTIME_DTYPES, DeviceArray,
                                       broadcast_strides, empty, full, is_scalar, to_device)

__all__ = ["array_ufunc", "ufunc", "gemm", "take_rows", "unsupported", "broadcast_shape"]

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
