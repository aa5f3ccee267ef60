"""Softmax and log-softmax along a dim, reference (max-subtracted, so stable at ±100).

Backward, with y the forward output:
  softmax:     dx = y * (dy - sum(dy * y))
  log_softmax: dx = dy - exp(y) * sum(dy)
"""
import numpy as np

from ._common import float_dtype

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


def _shifted(x, dim):
    x = np.asarray(x, dtype=float_dtype(x))
    if x.ndim == 0:  # dim 0 / -1 of a 0-d input is its one element, as in PyTorch
        return _shifted(x.reshape(1), dim).reshape(())
    if x.shape[dim] == 0:  # np.max has no identity; an empty slice softmaxes to nothing
        return x.copy()
    peak = np.max(x, axis=dim, keepdims=True)
    # A slice that is all -inf has no finite peak; shifting by -inf would give NaN
    # through inf - inf, which is also what PyTorch returns, so keep it.
    with np.errstate(invalid="ignore"):
        return x - peak


def softmax_forward(x, dim):
    with np.errstate(invalid="ignore", over="ignore"):
        exps = np.exp(_shifted(x, dim))
        return exps / np.sum(exps, axis=dim, keepdims=True)


def softmax_backward(grad_output, output, dim):
    dtype = float_dtype(grad_output, output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    output = np.asarray(output, dtype=dtype)
    return output * (grad_output - np.sum(grad_output * output, axis=dim, keepdims=True))


def log_softmax_forward(x, dim):
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = _shifted(x, dim)
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def log_softmax_backward(grad_output, output, dim):
    dtype = float_dtype(grad_output, output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    output = np.asarray(output, dtype=dtype)
    return grad_output - np.exp(output) * np.sum(grad_output, axis=dim, keepdims=True)
