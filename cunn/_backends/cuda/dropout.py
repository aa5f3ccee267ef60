"""dropout on the cuda backend: x * mask * scale with a uint8 (or bool) device mask; the
mask itself is drawn on the device by ``dropout_mask`` (seeded from cunn/random.py)."""
import math

import numpy as np

from cunn._backends.cuda._common import device, empty

__all__ = ["dropout_forward", "dropout_backward", "dropout2d_forward", "dropout2d_backward",
           "dropout_mask"]


def dropout_mask(shape, p, seed, offset):
    """A bool device mask of ``shape`` keeping each element with probability 1 - p: element
    i is uniform(seed, offset + i) >= p (the runtime's counter-based generator)."""
    mask = empty(shape, np.bool_)
    if mask.size:
        mask.runtime.dropout_mask(mask.ptr, mask.size, float(p), int(seed), int(offset))
    return mask


def _apply(op, values, mask, scale, backward):
    values = device(op, values, "grad_output" if backward else "x")
    mask = device(op, mask, "mask", np.uint8)
    if mask.shape != values.shape:
        raise ValueError(f"{op}: mask must have the input's shape {values.shape}, got "
                         f"{mask.shape}")
    out = empty(values.shape)
    if values.size:
        launch = values.runtime.dropout_backward if backward else values.runtime.dropout_forward
        launch(out.ptr, values.ptr, mask.ptr, values.size, float(scale))
    return out


def dropout_forward(x, mask, scale):
    return _apply("dropout", x, mask, scale, False)


def dropout_backward(grad_output, mask, scale):
    return _apply("dropout", grad_output, mask, scale, True)


def _apply_channels(op, values, mask, scale, backward):
    values = device(op, values, "grad_output" if backward else "x")
    mask = device(op, mask, "mask", np.uint8)
    if values.ndim < 2 or mask.shape != values.shape[:2]:
        raise ValueError(f"{op}: x must be (N, C, *) and mask (N, C), got {values.shape} and "
                         f"{mask.shape}")
    out = empty(values.shape)
    if values.size:
        launch = values.runtime.dropout2d_backward if backward else \
            values.runtime.dropout2d_forward
        launch(out.ptr, values.ptr, mask.ptr, mask.size, math.prod(values.shape[2:]),
               float(scale))
    return out


def dropout2d_forward(x, mask, scale):
    return _apply_channels("dropout2d", x, mask, scale, False)


def dropout2d_backward(grad_output, mask, scale):
    return _apply_channels("dropout2d", grad_output, mask, scale, True)
