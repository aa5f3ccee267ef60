"""Smooth activations and their gradients from the input, reference (formulas in
csrc/kernels/smooth_activation.h). NumPy has no erf, so GELU's exact form takes the
standard library's, element by element (slow, but this is the specification)."""
import math

import numpy as np

from ._common import float_dtype

__all__ = ["gelu_forward", "gelu_backward", "elu_forward", "elu_backward", "silu_forward",
           "silu_backward", "softplus_forward", "softplus_backward"]

_erf = np.vectorize(math.erf, otypes=[np.float64])
_SQRT_TWO_OVER_PI = math.sqrt(2 / math.pi)
_CUBIC = 0.044715


def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate == "tanh"


def _sigmoid(x):
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs)).astype(
        x.dtype, copy=False)


def gelu_forward(x, approximate="none"):
    x = np.asarray(x, dtype=float_dtype(x))
    one, half = x.dtype.type(1), x.dtype.type(0.5)
    if _check_approximate(approximate):
        inner = x.dtype.type(_SQRT_TWO_OVER_PI) * (x + x.dtype.type(_CUBIC) * x * x * x)
        return half * x * (one + np.tanh(inner))
    return half * x * (one + _erf(x * x.dtype.type(math.sqrt(0.5))).astype(x.dtype))


def gelu_backward(grad_output, x, approximate="none"):
    dtype = float_dtype(grad_output, x)
    x = np.asarray(x, dtype=dtype)
    grad_output = np.asarray(grad_output, dtype=dtype)
    one, half = dtype(1), dtype(0.5)
    if _check_approximate(approximate):
        inner = dtype(_SQRT_TWO_OVER_PI) * (x + dtype(_CUBIC) * x * x * x)
        t = np.tanh(inner)
        slope = dtype(_SQRT_TWO_OVER_PI) * (one + dtype(3 * _CUBIC) * x * x)
        return grad_output * (half * (one + t) + half * x * (one - t * t) * slope)
    cdf = half * (one + _erf(x * dtype(math.sqrt(0.5))).astype(dtype))
    pdf = dtype(1 / math.sqrt(2 * math.pi)) * np.exp(-half * x * x)
    return grad_output * (cdf + x * pdf)


def elu_forward(x, alpha):
    x = np.asarray(x, dtype=float_dtype(x))
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(x))


def elu_backward(grad_output, x, alpha):
    dtype = float_dtype(grad_output, x)
    x = np.asarray(x, dtype=dtype)
    grad_output = np.asarray(grad_output, dtype=dtype)
    return np.where(x > 0, grad_output, grad_output * dtype(alpha) * np.exp(x))


def silu_forward(x):
    x = np.asarray(x, dtype=float_dtype(x))
    return x * _sigmoid(x)


def silu_backward(grad_output, x):
    dtype = float_dtype(grad_output, x)
    x = np.asarray(x, dtype=dtype)
    s = _sigmoid(x)
    return np.asarray(grad_output, dtype=dtype) * (s * (dtype(1) + x * (dtype(1) - s)))


def softplus_forward(x, beta, threshold):
    x = np.asarray(x, dtype=float_dtype(x))
    scaled = x * x.dtype.type(beta)
    with np.errstate(over="ignore"):
        soft = np.log1p(np.exp(scaled)) / x.dtype.type(beta)
    return np.where(scaled > x.dtype.type(threshold), x, soft)


def softplus_backward(grad_output, x, beta, threshold):
    dtype = float_dtype(grad_output, x)
    x = np.asarray(x, dtype=dtype)
    grad_output = np.asarray(grad_output, dtype=dtype)
    scaled = x * dtype(beta)
    return np.where(scaled > dtype(threshold), grad_output, grad_output * _sigmoid(scaled))
