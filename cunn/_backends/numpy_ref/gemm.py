"""gemm family, NumPy reference: the specification the compiled kernels must match.

Computes in the inputs' dtype (float32 stays float32, float64 stays float64).
"""
import numpy as np

__all__ = ["gemm", "linear_forward", "linear_backward", "bias_grad"]


def _require_matrix(array, name):
    if array.ndim != 2:
        raise ValueError(f"gemm: {name} must be 2-D, got shape {array.shape}")


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """alpha * op(a) @ op(b) + beta * out; out, if given, is updated in place and returned."""
    a = np.asarray(a)
    b = np.asarray(b)
    _require_matrix(a, "a")
    _require_matrix(b, "b")
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {op_a.shape}, "
                         f"op(b) is {op_b.shape}")
    product = op_a @ op_b
    if alpha != 1.0:
        product *= product.dtype.type(alpha)
    if out is None:
        return product
    if out.shape != product.shape:
        raise ValueError(f"gemm: out must have shape {product.shape}, got {out.shape}")
    if beta == 0.0:
        # Like BLAS, beta == 0 overwrites out without reading it (NaNs there do not leak).
        out[...] = product
    else:
        out[...] = product + out.dtype.type(beta) * out
    return out


def linear_forward(x, weight, bias):
    """x (N, in) @ weight (out, in).T + bias (out,) -> (N, out)."""
    x = np.asarray(x)
    weight = np.asarray(weight)
    if x.ndim != 2 or weight.ndim != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"linear_forward: weight must be (out_features, in_features) with "
                         f"in_features = {x.shape[-1]} (x is {x.shape}), got {weight.shape}")
    out = x @ weight.T
    if bias is not None:
        if np.shape(bias) != (weight.shape[0],):
            raise ValueError(f"linear_forward: bias must have shape ({weight.shape[0]},), "
                             f"got {np.shape(bias)}")
        out += bias
    return out


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias) of x @ weight.T + bias for grad_output (N, out),
    x (N, in), weight (out, in); each is None unless asked for."""
    grad_output = np.asarray(grad_output)
    x = np.asarray(x)
    weight = np.asarray(weight)
    if grad_output.ndim != 2 or weight.ndim != 2 or weight.shape[0] != grad_output.shape[1]:
        raise ValueError(f"linear_backward: weight must be (out_features, in_features) with "
                         f"out_features = {grad_output.shape[-1]} (grad_output is "
                         f"{grad_output.shape}), got {weight.shape}")
    if x.shape != (grad_output.shape[0], weight.shape[1]):
        raise ValueError(f"linear_backward: x must have shape "
                         f"{(grad_output.shape[0], weight.shape[1])}, got {x.shape}")
    grad_x = grad_output @ weight if need_x else None
    grad_weight = grad_output.T @ x if need_weight else None
    grad_bias = bias_grad(grad_output, 1) if need_bias else None
    return grad_x, grad_weight, grad_bias


def bias_grad(grad_output, axis):
    """Sum of grad_output over every axis except ``axis`` -> (grad_output.shape[axis],)."""
    grad_output = np.asarray(grad_output)
    ndim = grad_output.ndim
    if not -ndim <= axis < ndim:
        raise IndexError(f"bias_grad: axis {axis} is out of range for a {ndim}-D grad_output")
    axis %= ndim
    return grad_output.sum(axis=tuple(d for d in range(ndim) if d != axis))
