"""gemm family on the compiled backend: gemm, linear_forward, bias_grad.

A transposed view (an F-contiguous 2-D array) is passed to the kernel as its
C-contiguous base with the trans flag flipped, so ``x.T`` costs no copy; only
inputs that are neither C- nor F-contiguous are copied. ``out`` is never copied:
the binding refuses one of the wrong dtype or layout.
"""
import numpy as np

from cunn import _C

__all__ = ["gemm", "linear_forward", "bias_grad"]


def _operand(array, trans):
    if array.flags.c_contiguous:
        return array, trans
    if array.ndim == 2 and array.flags.f_contiguous:
        return array.T, not trans
    return np.ascontiguousarray(array), trans


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    a, trans_a = _operand(np.asarray(a), bool(trans_a))
    b, trans_b = _operand(np.asarray(b), bool(trans_b))
    return _C.gemm(a, b, trans_a, trans_b, alpha, beta, out)


def linear_forward(x, weight, bias):
    if bias is not None:
        bias = np.ascontiguousarray(bias)
    return _C.linear_forward(np.ascontiguousarray(x), np.ascontiguousarray(weight), bias)


def bias_grad(grad_output, axis):
    grad_output = np.asarray(grad_output)
    if not grad_output.flags.c_contiguous:
        grad_output = np.ascontiguousarray(grad_output)
    return _C.bias_grad(grad_output, int(axis))
