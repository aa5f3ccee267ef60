"""gemm family on the compiled backend: gemm, linear_forward, linear_backward, bias_grad.

gemm calls straight through: the binding reads an F-contiguous 2-D operand (a
transposed view such as ``x.T``) as its C-contiguous base with the trans flag
flipped, so transposes cost no copy and the common call pays no Python-side
checks. Only an operand that is neither C- nor F-contiguous is refused with
``_C.NonContiguousError``, and copied here. ``out`` is never copied: the binding
refuses one of the wrong dtype or layout.
"""
import numpy as np

from cunn import _C

__all__ = ["gemm", "linear_forward", "linear_backward", "bias_grad"]


def _contiguous(array):
    array = np.asarray(array)
    return array if array.flags.forc else np.ascontiguousarray(array)


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    try:
        return _C.gemm(a, b, trans_a, trans_b, alpha, beta, out)
    except _C.NonContiguousError:
        return _C.gemm(_contiguous(a), _contiguous(b), trans_a, trans_b, alpha, beta, out)


def linear_forward(x, weight, bias):
    if bias is not None:
        bias = np.ascontiguousarray(bias)
    return _C.linear_forward(np.ascontiguousarray(x), np.ascontiguousarray(weight), bias)


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    return _C.linear_backward(np.ascontiguousarray(grad_output), np.ascontiguousarray(x),
                              np.ascontiguousarray(weight), need_x, need_weight, need_bias)


def bias_grad(grad_output, axis):
    grad_output = np.asarray(grad_output)
    if not grad_output.flags.c_contiguous:
        grad_output = np.ascontiguousarray(grad_output)
    return _C.bias_grad(grad_output, int(axis))
