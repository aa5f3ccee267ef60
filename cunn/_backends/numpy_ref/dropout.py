"""Dropout with a mask drawn in cunn/random.py, reference: y = x * mask * scale."""
import numpy as np

from ._common import float_dtype

__all__ = ["dropout_forward", "dropout_backward", "dropout2d_forward", "dropout2d_backward"]


def _apply(op, values, mask, scale):
    dtype = float_dtype(values)
    values = np.asarray(values, dtype=dtype)
    mask = np.asarray(mask)
    if mask.shape != values.shape:
        raise ValueError(f"{op}: mask must have shape {values.shape}, got {mask.shape}")
    return values * mask.astype(dtype) * dtype(scale)


def dropout_forward(x, mask, scale):
    return _apply("dropout_forward", x, mask, scale)


def dropout_backward(grad_output, mask, scale):
    return _apply("dropout_backward", grad_output, mask, scale)


def _apply_channels(op, values, mask, scale):
    dtype = float_dtype(values)
    values = np.asarray(values, dtype=dtype)
    mask = np.asarray(mask)
    if values.ndim < 2 or mask.shape != values.shape[:2]:
        raise ValueError(f"{op}: mask must have shape {values.shape[:2]}, got {mask.shape}")
    keep = mask.astype(dtype).reshape(mask.shape + (1,) * (values.ndim - 2))
    return values * keep * dtype(scale)


def dropout2d_forward(x, mask, scale):
    return _apply_channels("dropout2d_forward", x, mask, scale)


def dropout2d_backward(grad_output, mask, scale):
    return _apply_channels("dropout2d_backward", grad_output, mask, scale)
