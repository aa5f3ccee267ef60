"""Gather + ToTensor + Normalize of uint8 images, reference.

out = ((float32)images[indices] / float32(255) - float32(mean)) / float32(std), the
operations and the order of cunn/data/transforms.py (ToTensor, then Normalize), so
the compiled kernel must match it bit for bit.
"""
import numbers

import numpy as np

__all__ = ["normalize_images"]

_255 = np.float32(255)
_OP = "normalize_images"


def _as_float32(value, name):
    if isinstance(value, (bool, np.bool_, str)) or not (
            isinstance(value, numbers.Real) or hasattr(value, "__float__")) \
            or isinstance(value, np.ndarray):
        raise TypeError(f"{_OP}: {name} must be a float, got {type(value).__name__}")
    return np.float32(float(value))


def normalize_images(images, indices, mean, std):
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{_OP}: images must be a NumPy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise TypeError(f"{_OP}: images must be uint8, got {images.dtype}")
    if images.ndim < 1:
        raise ValueError(f"{_OP}: images must have a leading (item) axis, got a 0-d array")
    if not images.flags.c_contiguous:
        raise ValueError(f"{_OP}: images must be C-contiguous")
    indices = np.asarray(indices)
    if indices.dtype != np.int64:
        raise TypeError(f"{_OP}: indices must be int64, got {indices.dtype}")
    if indices.ndim != 1:
        raise ValueError(f"{_OP}: indices must be 1-D, got shape {indices.shape}")
    mean, std = _as_float32(mean, "mean"), _as_float32(std, "std")
    if std == 0:
        raise ValueError(f"{_OP}: std must be non-zero (as float32), got {std}")
    count = len(images)
    bad = (indices < 0) | (indices >= count)
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(f"{_OP}: indices must lie in [0, {count}), got {indices[position]} "
                         f"at position {position}")
    result = np.empty((len(indices),) + images.shape[1:], dtype=np.float32)
    np.copyto(result, np.take(images, indices, axis=0), casting="safe")
    np.divide(result, _255, out=result)
    np.subtract(result, mean, out=result)
    np.divide(result, std, out=result)
    return result
