"""Gradient clipping: ``clip_grad_norm_`` scales all gradients together so that their
total norm is at most ``max_norm``; ``clip_grad_value_`` clamps each element.

Both work on the gradients' arrays in place, outside autograd, as PyTorch's do. The norm
is computed in float32 like PyTorch's (each gradient's norm, then the norm of those), and
the scale is ``max_norm / (total_norm + 1e-6)`` capped at 1.
"""
import math

import numpy as np

from cunn._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _gradients(op, parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors, "
                        f"got {type(parameters).__name__}") from None
    grads = []
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Tensor):
            raise TypeError(f"{op}: parameters[{index}] must be a Tensor, "
                            f"got {type(parameter).__name__}")
        if parameter.grad is not None:
            grads.append(parameter.grad._data)
    return grads


def _vector_norm(values, norm_type):
    """The ``norm_type``-norm of a flat float array, in its dtype."""
    values = np.abs(values.ravel())
    if values.size == 0:
        return values.dtype.type(0)
    if norm_type == math.inf:
        return values.max()
    if norm_type == -math.inf:
        return values.min()
    if norm_type == 0:
        return values.dtype.type(np.count_nonzero(values))
    if norm_type == 1:
        return values.sum(dtype=values.dtype)
    if norm_type == 2:
        return np.sqrt(np.dot(values, values))
    return values.dtype.type(np.sum(values ** norm_type, dtype=values.dtype)
                             ** (1.0 / norm_type))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scales the gradients in place so that their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d float32 Tensor).
    ``foreach`` is accepted for PyTorch compatibility."""
    op = "clip_grad_norm_"
    try:
        max_norm = float(max_norm)
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: max_norm and norm_type must be numbers, got "
                        f"{max_norm!r} and {norm_type!r}") from None
    grads = _gradients(op, parameters)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    dtype = np.result_type(*grads)
    norms = np.array([_vector_norm(grad, norm_type) for grad in grads], dtype=dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is "
                           "non-finite, so it cannot be clipped (pass "
                           "error_if_nonfinite=False to clip anyway)")
    scalar = np.dtype(dtype).type
    coefficient = scalar(max_norm) / (total + scalar(1e-6))
    coefficient = np.minimum(coefficient, scalar(1.0))
    # A non-finite norm makes the gradients NaN, as in PyTorch; NumPy need not warn.
    with np.errstate(invalid="ignore"):
        for grad in grads:
            grad *= coefficient.astype(grad.dtype)
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient element to ``[-clip_value, clip_value]`` in place."""
    op = "clip_grad_value_"
    try:
        clip_value = float(clip_value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: clip_value must be a number, got {clip_value!r}") from None
    for grad in _gradients(op, parameters):
        np.clip(grad, -clip_value, clip_value, out=grad)
