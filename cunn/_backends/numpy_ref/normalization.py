"""Batch and layer normalisation, reference (formulas in csrc/kernels/normalization.h).

Statistics are summed in float64 and rounded to the working dtype; the variance is the
biased one, taken around the rounded mean, as the compiled kernels do.
"""
import math

import numpy as np

from ._common import float_dtype

__all__ = ["batch_norm_statistics", "batch_norm_forward", "batch_norm_backward",
           "layer_norm_forward", "layer_norm_backward"]


def _by_channel(array, dtype):
    """``array`` (N, C, *) as (N, C, L)."""
    array = np.asarray(array, dtype=dtype)
    if array.ndim < 2:
        raise ValueError(f"batch_norm: x must be (N, C, *), got shape {array.shape}")
    return array.reshape(array.shape[0], array.shape[1], math.prod(array.shape[2:]))


def _vector(value, dtype, default, channels):
    return np.full(channels, default, dtype) if value is None else np.asarray(value, dtype)


def batch_norm_statistics(x):
    dtype = float_dtype(x)
    values = _by_channel(x, dtype)
    count = values.shape[0] * values.shape[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (values.sum(axis=(0, 2), dtype=np.float64) / count).astype(dtype)
        centered = values - mean[None, :, None]
        var = ((centered * centered).sum(axis=(0, 2), dtype=np.float64) / count).astype(dtype)
    return mean, var


def batch_norm_forward(x, mean, var, weight, bias, eps):
    dtype = float_dtype(x, mean, var, weight, bias)
    values = _by_channel(x, dtype)
    channels = values.shape[1]
    invstd = (dtype(1) / np.sqrt(np.asarray(var, dtype) + dtype(eps))).astype(dtype)
    scale = invstd * _vector(weight, dtype, 1, channels)
    shift = _vector(bias, dtype, 0, channels) - np.asarray(mean, dtype) * scale
    out = values * scale[None, :, None] + shift[None, :, None]
    return out.reshape(np.shape(x)), invstd


def batch_norm_backward(grad_output, x, mean, invstd, weight, batch_statistics):
    dtype = float_dtype(grad_output, x, mean, invstd, weight)
    grad = _by_channel(grad_output, dtype)
    values = _by_channel(x, dtype)
    channels = values.shape[1]
    mean = np.asarray(mean, dtype)
    invstd = np.asarray(invstd, dtype)
    centered = values - mean[None, :, None]
    grad_sum = grad.sum(axis=(0, 2), dtype=np.float64)
    projection = (grad * centered).sum(axis=(0, 2), dtype=np.float64)
    grad_bias = grad_sum.astype(dtype)
    grad_weight = (projection * invstd).astype(dtype)
    a = invstd * _vector(weight, dtype, 1, channels)
    if not batch_statistics:
        grad_x = grad * a[None, :, None]
    else:
        count = values.shape[0] * values.shape[2]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_grad = (grad_sum / count).astype(dtype)
            proj_scale = (projection / count).astype(dtype) * invstd * invstd
        grad_x = (grad - mean_grad[None, :, None] - centered * proj_scale[None, :, None]) \
            * a[None, :, None]
    return grad_x.reshape(np.shape(x)), grad_weight, grad_bias


def _rows(x, normalized_shape, dtype):
    x = np.asarray(x, dtype=dtype)
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape or x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ValueError(f"layer_norm: x's trailing dims must be normalized_shape "
                         f"{normalized_shape}, got shape {x.shape}")
    leading = x.shape[:x.ndim - len(normalized_shape)]
    return x.reshape(math.prod(leading), math.prod(normalized_shape))


def layer_norm_forward(x, normalized_shape, weight, bias, eps):
    dtype = float_dtype(x, weight, bias)
    rows = _rows(x, normalized_shape, dtype)
    size = rows.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (rows.sum(axis=1, dtype=np.float64) / size).astype(dtype)
        centered = rows - mean[:, None]
        var = ((centered * centered).sum(axis=1, dtype=np.float64) / size).astype(dtype)
    invstd = (dtype(1) / np.sqrt(var + dtype(eps))).astype(dtype)
    out = centered * invstd[:, None]
    if weight is not None:
        out = out * np.asarray(weight, dtype).reshape(-1)
    if bias is not None:
        out = out + np.asarray(bias, dtype).reshape(-1)
    return out.reshape(np.shape(x)), mean, invstd


def layer_norm_backward(grad_output, x, mean, invstd, weight, normalized_shape):
    dtype = float_dtype(grad_output, x, mean, invstd, weight)
    rows = _rows(x, normalized_shape, dtype)
    grad = np.asarray(grad_output, dtype).reshape(rows.shape)
    size = rows.shape[1]
    mean = np.asarray(mean, dtype)[:, None]
    invstd = np.asarray(invstd, dtype)[:, None]
    normalized = (rows - mean) * invstd
    scaled = grad if weight is None else grad * np.asarray(weight, dtype).reshape(-1)
    inverse_count = dtype(1) / dtype(size) if size else dtype(np.inf)
    scaled_mean = scaled.sum(axis=1, dtype=np.float64).astype(dtype)[:, None] * inverse_count
    projection = (scaled * normalized).sum(axis=1, dtype=np.float64).astype(dtype)[:, None] \
        * inverse_count
    grad_x = invstd * (scaled - scaled_mean - normalized * projection)
    shape = tuple(normalized_shape)
    grad_weight = (grad * normalized).sum(axis=0, dtype=np.float64).astype(dtype).reshape(shape)
    grad_bias = grad.sum(axis=0, dtype=np.float64).astype(dtype).reshape(shape)
    return grad_x.reshape(np.shape(x)), grad_weight, grad_bias
