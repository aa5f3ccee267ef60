"""Activations and their gradients, reference.

relu'(x) is 0 at x == 0 and leaky_relu'(0) is the slope, as in PyTorch. sigmoid and
tanh gradients are written in terms of the forward output.
"""
import numpy as np

from ._common import float_dtype

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
]


def relu_forward(x):
    x = np.asarray(x, dtype=float_dtype(x))
    # x where x > 0 and at -0.0 (PyTorch keeps its sign), +0 below; NaN propagates.
    return np.where(x < 0, x.dtype.type(0), x)


def relu_backward(grad_output, x):
    dtype = float_dtype(grad_output, x)
    return np.where(np.asarray(x) > 0, np.asarray(grad_output, dtype=dtype), dtype(0))


def leaky_relu_forward(x, negative_slope):
    x = np.asarray(x, dtype=float_dtype(x))
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(grad_output, x, negative_slope):
    dtype = float_dtype(grad_output, x)
    grad_output = np.asarray(grad_output, dtype=dtype)
    return np.where(np.asarray(x) > 0, grad_output, grad_output * dtype(negative_slope))


def sigmoid_forward(x):
    x = np.asarray(x, dtype=float_dtype(x))
    # Two branches so exp never overflows: for x < 0 use e^x / (1 + e^x).
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs)).astype(
        x.dtype, copy=False)


def sigmoid_backward(grad_output, output):
    dtype = float_dtype(grad_output, output)
    output = np.asarray(output, dtype=dtype)
    return np.asarray(grad_output, dtype=dtype) * output * (1 - output)


def tanh_forward(x):
    x = np.asarray(x, dtype=float_dtype(x))
    return np.tanh(x)


def tanh_backward(grad_output, output):
    dtype = float_dtype(grad_output, output)
    output = np.asarray(output, dtype=dtype)
    return np.asarray(grad_output, dtype=dtype) * (1 - output * output)
