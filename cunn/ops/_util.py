"""What every op needs: turning arguments into Tensors, choosing the backend for a dtype,
and summing a broadcast gradient back to its input's shape."""
import importlib

import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops
from cunn._backends import cuda as _cuda_backend  # its kernel families load on first use
from cunn._backends.cuda.array import DeviceArray

_backends = importlib.import_module("cunn._backends")

__all__ = ["as_tensor", "as_array", "contiguous", "kernels", "kernels_for", "unbroadcast",
           "FLOAT_DTYPES", "DeviceArray"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32 = np.dtype(np.float32)


def kernels():
    """The backend ops dispatch float32 work to now."""
    backend = _backends._current
    return backend if backend is not None else _backends.current()


def kernels_for(data):
    """The backend for the array ``data``: a device array runs on the cuda backend; host
    float32 on the current backend; other dtypes on the NumPy reference, which computes
    in float64 when every input is float64 (gradient checks)."""
    if type(data) is DeviceArray:
        return _cuda_backend
    if data.dtype == _FLOAT32:
        backend = _backends._current
        return backend if backend is not None else _backends.current()
    return _backends.get("numpy")


def contiguous(data, dtype=None):
    """``data`` C-contiguous (and of ``dtype`` when given), on the device it is on."""
    if type(data) is DeviceArray:
        return (data if dtype is None else data.astype(dtype, copy=False)).contiguous()
    return np.ascontiguousarray(data, dtype=dtype)


def as_array(value):
    """``value`` as an array: device arrays pass through, anything else (NumPy's 0-d
    results are scalars) through np.asarray."""
    return value if type(value) is DeviceArray else np.asarray(value)


def as_tensor(value, like=None):
    """``value`` as a Tensor: Tensors pass through, arrays and numbers are wrapped.

    A Python number takes the dtype of ``like`` (so ``x * 2`` stays float32); other
    data follows ``cunn.tensor``: floating becomes float32, integers int64.
    """
    if isinstance(value, _tensor.Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool, np.number)) \
            and not isinstance(value, np.ndarray):
        dtype = like._data.dtype
        if dtype.kind != "f" and isinstance(value, (float, np.floating)):
            dtype = _FLOAT32
        elif dtype.kind in "iu" and isinstance(value, int) and not isinstance(value, bool) \
                and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max:
            return _tensor.Tensor(_tensor.to_array(value))  # -3 beside uint8: promoted
        return _tensor.Tensor(np.asarray(value, dtype=dtype))
    return _tensor.Tensor(_tensor.to_array(value))


def unbroadcast(grad, shape):
    """Sums ``grad`` over the axes that broadcasting added or stretched to reach it."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + axis for axis, size in enumerate(shape) if size == 1 and grad.shape[extra + axis] != 1)
    if not axes:
        return grad.reshape(shape)
    reduced = kernels_for(grad).sum(grad, axes, False)
    return as_array(reduced).reshape(shape)
