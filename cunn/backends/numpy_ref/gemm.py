"""GEMM family, reference: alpha * op(a) @ op(b) + beta * out; linear; bias gradient."""
import numpy as np

from ._common import float_dtype

__all__ = ["gemm", "linear_forward", "bias_grad"]


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    dtype = float_dtype(a, b)
    a = np.asarray(a, dtype=dtype)
    b = np.asarray(b, dtype=dtype)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"gemm: a and b must be 2-D, got {a.shape} and {b.shape}")
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {op_a.shape}, "
                         f"op(b) is {op_b.shape}")
    product = op_a @ op_b
    if alpha != 1.0:
        product *= dtype(alpha)
    if out is None:
        return np.ascontiguousarray(product)
    if out.shape != product.shape:
        raise ValueError(f"gemm: out must have shape {product.shape}, got {out.shape}")
    if beta == 0.0:
        out[...] = product
    else:
        out *= dtype(beta)
        out += product
    return out


def linear_forward(x, weight, bias):
    dtype = float_dtype(x, weight, bias)
    result = np.asarray(x, dtype=dtype) @ np.asarray(weight, dtype=dtype).T
    if bias is not None:
        result += np.asarray(bias, dtype=dtype)
    return np.ascontiguousarray(result)


def bias_grad(grad_output, axis):
    grad_output = np.asarray(grad_output)
    axis = axis % grad_output.ndim
    others = tuple(i for i in range(grad_output.ndim) if i != axis)
    return grad_output.sum(axis=others, dtype=float_dtype(grad_output))
