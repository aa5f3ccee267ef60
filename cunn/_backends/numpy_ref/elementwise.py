"""Broadcasting binary arithmetic, reference."""
import numpy as np

from ._common import float_dtype

__all__ = ["add", "sub", "mul", "div"]


def _operands(a, b):
    dtype = float_dtype(a, b)
    return np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)


def add(a, b):
    a, b = _operands(a, b)
    return np.add(a, b)


def sub(a, b):
    a, b = _operands(a, b)
    return np.subtract(a, b)


def mul(a, b):
    a, b = _operands(a, b)
    return np.multiply(a, b)


def div(a, b):
    a, b = _operands(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)
