"""elementwise kernels: add, sub, mul, div with NumPy broadcasting (float32).

The compiled kernels read inputs with any strides in place, so nothing is copied here.
"""
from cunn import _C

__all__ = ["add", "sub", "mul", "div"]

add = _C.add
sub = _C.sub
mul = _C.mul
div = _C.div
