"""Broadcasting float32 arithmetic on the cuda backend: the runtime's binary kernel reads
broadcast operands through zero strides, so nothing is expanded first."""
import numpy as np

from cunn._backends.cuda._common import FLOAT32, ufunc
from cunn._backends.cuda.array import DeviceArray

__all__ = ["add", "sub", "mul", "div"]


def _check(op, a, b):
    for value in (a, b):
        if isinstance(value, DeviceArray) and value.dtype != FLOAT32:
            raise TypeError(f"{op}: operands must be float32, got {value.dtype}")
    return a, b


def add(a, b):
    return ufunc(np.add, *_check("add", a, b))


def sub(a, b):
    return ufunc(np.subtract, *_check("sub", a, b))


def mul(a, b):
    return ufunc(np.multiply, *_check("mul", a, b))


def div(a, b):
    return ufunc(np.true_divide, *_check("div", a, b))
