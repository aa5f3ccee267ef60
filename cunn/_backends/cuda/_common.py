"""What the cuda backend's kernel families share: taking arguments as contiguous device
arrays of the right dtype, the device error word, loss reductions."""
import math

import numpy as np

from cunn._backends.cuda.array import FLOAT32, INT64, DeviceArray, empty, full, is_scalar
from cunn._backends.cuda import ufuncs

__all__ = ["device", "optional", "pointer", "ErrorWord", "reduce_loss", "check_reduction",
           "FLOAT32", "INT64", "empty", "full", "ufunc"]

ufunc = ufuncs.ufunc


def device(op, value, name, dtype=FLOAT32):
    """``value`` as a C-contiguous device array of ``dtype`` (bool counts as uint8): a
    host array is a mixed-device RuntimeError, another dtype a TypeError (the contract:
    compiled backends take float32 only)."""
    if not isinstance(value, DeviceArray):
        if is_scalar(value) and dtype == FLOAT32:
            return full((), np.asarray(value).item(), FLOAT32)
        raise RuntimeError(f"{op}: {name} is a {type(value).__name__} on the cpu, the other "
                           "arguments are on cuda; move it with .cuda() first")
    if value.dtype != dtype and not (dtype == np.uint8 and value.dtype == np.bool_):
        raise TypeError(f"{op}: {name} must be {np.dtype(dtype)}, got {value.dtype}")
    return value.contiguous()


def optional(op, value, name, dtype=FLOAT32):
    return None if value is None else device(op, value, name, dtype)


def pointer(array):
    """The device address of ``array``, 0 for None (the runtime's "none")."""
    return 0 if array is None else array.ptr


class ErrorWord:
    """The int32 word a kernel sets to 1 when it meets a bad label or index; zeroed here,
    read back after the launch (one 4-byte copy)."""
    __slots__ = ("array",)

    def __init__(self):
        self.array = full((1,), 0.0, FLOAT32)  # 4 zero bytes: int32 0

    @property
    def ptr(self):
        return self.array.ptr

    def is_set(self):
        word = np.zeros(1, np.int32)
        self.array.runtime.copy_to_host(word, self.array.ptr)
        return bool(word[0])


def check_reduction(op, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce_loss(losses, reduction, shape):
    """Per-element ``losses`` as the loss: of ``shape`` for "none", else 0-d (a mean of
    nothing is NaN)."""
    if reduction == "none":
        return losses.reshape(shape)
    total = np.sum(losses)
    if reduction == "mean":
        count = math.prod(shape)
        return ufunc(np.multiply, total, 1.0 / count if count else math.nan)
    return total
