"""2-D max pooling (NCHW), reference. Padding counts as -inf; indices are positions
h * W + w in each input plane (PyTorch's convention); the first maximum wins ties
and a NaN wins over numbers."""
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


def max_pool2d_forward(x, kernel_size, stride, padding):
    x = np.asarray(x, dtype=float_dtype(x))
    if x.ndim != 4:
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    batch, channels, height, width = x.shape
    out_h, out_w = _pool_output_size(height, width, kernel_size, stride, padding)
    (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w) = kernel_size, stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)),
                    constant_values=-np.inf)
    s_n, s_c, s_h, s_w = padded.strides
    windows = np.lib.stride_tricks.as_strided(
        padded, shape=(batch, channels, out_h, out_w, kernel_h, kernel_w),
        strides=(s_n, s_c, s_h * stride_h, s_w * stride_w, s_h, s_w), writeable=False
    ).reshape(batch, channels, out_h, out_w, kernel_h * kernel_w)
    offset = np.argmax(windows, axis=-1)  # first maximum; first NaN if any
    output = np.take_along_axis(windows, offset[..., None], axis=-1)[..., 0]
    # A window of nothing but -inf reports its first position, which may be padding:
    # take its first position inside the input instead, as PyTorch does.
    first_row = np.maximum(pad_h - np.arange(out_h) * stride_h, 0)[:, None]
    first_col = np.maximum(pad_w - np.arange(out_w) * stride_w, 0)[None, :]
    offset = np.where(output == -np.inf, first_row * kernel_w + first_col, offset)
    row = (np.arange(out_h) * stride_h - pad_h)[:, None] + offset // kernel_w
    col = (np.arange(out_w) * stride_w - pad_w)[None, :] + offset % kernel_w
    indices = (row * width + col).astype(np.int64)
    return np.ascontiguousarray(output), indices


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
