"""2-D max pooling (NCHW), reference. Padding counts as -inf; indices are positions
h * W + w in each input plane (PyTorch's convention); the first maximum wins ties
and a NaN wins over numbers.

The windows are scanned one kernel offset (p, q) at a time in row-major order, each step
updating every output whose window reads the input there, so the cost is what the
windows read: a kernel of 2^31 under padding 2^30 reads a 1x1 input once."""
import numpy as np

from ._common import float_dtype

__all__ = ["max_pool2d_forward", "max_pool2d_backward"]


def _pool_output_size(height, width, kernel_size, stride, padding):
    (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w) = kernel_size, stride, padding
    if min(kernel_h, kernel_w, stride_h, stride_w) < 1 or min(pad_h, pad_w) < 0:
        raise ValueError(f"max_pool2d: kernel_size and stride must be >= 1 and padding >= 0, "
                         f"got {tuple(kernel_size)}, {tuple(stride)}, {tuple(padding)}")
    if pad_h * 2 > kernel_h or pad_w * 2 > kernel_w:
        raise ValueError(f"max_pool2d: padding must be at most half the kernel size, got "
                         f"padding {tuple(padding)} for kernel {tuple(kernel_size)}")
    out_h = (height + 2 * pad_h - kernel_h) // stride_h + 1
    out_w = (width + 2 * pad_w - kernel_w) // stride_w + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"max_pool2d: kernel {tuple(kernel_size)} is larger than the padded "
                         f"input ({height + 2 * pad_h}, {width + 2 * pad_w})")
    return out_h, out_w


def _taps(size, kernel, stride, pad, out):
    """(offset, lo, hi) for each kernel offset of one axis that reads the input: output
    indices i in [lo, hi) read index i*stride - pad + offset inside [0, size). Only
    offsets in [pad - (out-1)*stride, size + pad) can."""
    offsets = range(max(0, pad - (out - 1) * stride), min(kernel, size + pad))
    taps = []
    for offset in offsets:
        lo = max(0, -((offset - pad) // stride))
        hi = min(out, (size - 1 + pad - offset) // stride + 1)
        if lo < hi:
            taps.append((offset, lo, hi))
    return taps


def max_pool2d_forward(x, kernel_size, stride, padding):
    x = np.asarray(x, dtype=float_dtype(x))
    if x.ndim != 4:
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    batch, channels, height, width = x.shape
    out_h, out_w = _pool_output_size(height, width, kernel_size, stride, padding)
    (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w) = kernel_size, stride, padding
    output = np.full((batch, channels, out_h, out_w), -np.inf, dtype=x.dtype)
    # Until something beats -inf, a window reports its first position inside the input,
    # as PyTorch does.
    first_row = np.maximum(np.arange(out_h) * stride_h - pad_h, 0)
    first_col = np.maximum(np.arange(out_w) * stride_w - pad_w, 0)
    indices = np.empty((batch, channels, out_h, out_w), dtype=np.int64)
    indices[...] = first_row[:, None] * width + first_col[None, :]
    column_taps = _taps(width, kernel_w, stride_w, pad_w, out_w)
    for p, row_lo, row_hi in _taps(height, kernel_h, stride_h, pad_h, out_h):
        rows = np.arange(row_lo, row_hi) * stride_h - pad_h + p
        for q, col_lo, col_hi in column_taps:
            cols = np.arange(col_lo, col_hi) * stride_w - pad_w + q
            values = x[:, :, rows[0]:rows[-1] + 1:stride_h, cols[0]:cols[-1] + 1:stride_w]
            best = output[:, :, row_lo:row_hi, col_lo:col_hi]
            # A larger number wins, the first NaN wins and stays, ties keep the first.
            take = (values > best) | (np.isnan(values) & ~np.isnan(best))
            np.copyto(best, values, where=take)
            np.copyto(indices[:, :, row_lo:row_hi, col_lo:col_hi],
                      rows[:, None] * width + cols[None, :], where=take)
    return output, indices


def max_pool2d_backward(grad_output, indices, input_shape):
    dtype = float_dtype(grad_output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    indices = np.asarray(indices)
    batch, channels, height, width = input_shape
    if indices.shape != grad_output.shape:
        raise ValueError(f"max_pool2d: indices must have grad_output's shape {grad_output.shape}, "
                         f"got {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= height * width):
        raise ValueError(f"max_pool2d: indices must be in [0, {height * width})")
    grad_input = np.zeros((batch * channels, height * width), dtype=dtype)
    planes = np.arange(batch * channels)[:, None]
    out_plane = int(np.prod(indices.shape[2:]))  # not -1: that cannot reshape an empty batch
    np.add.at(grad_input, (planes, indices.reshape(batch * channels, out_plane)),
              grad_output.reshape(batch * channels, out_plane))
    return grad_input.reshape(input_shape)
