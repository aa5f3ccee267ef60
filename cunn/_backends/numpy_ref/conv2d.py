"""2-D convolution (cross-correlation, NCHW, zero padding), reference.

out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q] * xpad[n, c, i*sh + p, j*sw + q]
Computed as im2col (a strided window view, copied once) times the weight matrix;
the input gradient scatters the column gradient back one kernel offset at a time.
"""
import numpy as np

from ._common import float_dtype

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"]


def _output_size(op, height, width, kernel_h, kernel_w, stride, padding):
    stride_h, stride_w = stride
    pad_h, pad_w = padding
    if stride_h < 1 or stride_w < 1:
        raise ValueError(f"{op}: stride must be >= 1, got {tuple(stride)}")
    if pad_h < 0 or pad_w < 0:
        raise ValueError(f"{op}: padding must be >= 0, got {tuple(padding)}")
    out_h = (height + 2 * pad_h - kernel_h) // stride_h + 1
    out_w = (width + 2 * pad_w - kernel_w) // stride_w + 1
    if height + 2 * pad_h < kernel_h or width + 2 * pad_w < kernel_w or out_h < 1 or out_w < 1:
        raise ValueError(f"{op}: kernel ({kernel_h}, {kernel_w}) is larger than the padded "
                         f"input ({height + 2 * pad_h}, {width + 2 * pad_w})")
    return out_h, out_w


def _columns(x, kernel_h, kernel_w, stride, padding, out_h, out_w):
    """(N*OH*OW, C*kh*kw) patches of the zero-padded input."""
    batch, channels = x.shape[:2]
    pad_h, pad_w = padding
    padded = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w))) if pad_h or pad_w else x
    s_n, s_c, s_h, s_w = padded.strides
    windows = np.lib.stride_tricks.as_strided(
        padded,
        shape=(batch, out_h, out_w, channels, kernel_h, kernel_w),
        strides=(s_n, s_h * stride[0], s_w * stride[1], s_c, s_h, s_w),
        writeable=False)
    return windows.reshape(batch * out_h * out_w, channels * kernel_h * kernel_w)


def _check(op, x, weight_shape):
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    if len(weight_shape) != 4:
        raise ValueError(f"{op}: weight must be 4-D (O, C, kh, kw), got shape {tuple(weight_shape)}")
    if weight_shape[1] != x.shape[1]:
        raise ValueError(f"{op}: weight expects {weight_shape[1]} input channels, input has "
                         f"{x.shape[1]} (input shape {x.shape})")


def conv2d_forward(x, weight, bias, stride, padding):
    dtype = float_dtype(x, weight, bias)
    x = np.ascontiguousarray(x, dtype=dtype)
    weight = np.asarray(weight, dtype=dtype)
    _check("conv2d", x, weight.shape)
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = _output_size("conv2d", x.shape[2], x.shape[3], kernel_h, kernel_w, stride,
                                padding)
    columns = _columns(x, kernel_h, kernel_w, stride, padding, out_h, out_w)
    # Sizes spelled out, not -1: that cannot reshape a zero-out-channel weight.
    result = columns @ weight.reshape(out_channels, columns.shape[1]).T
    if bias is not None:
        result += np.asarray(bias, dtype=dtype)
    result = result.reshape(x.shape[0], out_h, out_w, out_channels).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(result)


def conv2d_backward_input(grad_output, weight, input_shape, stride, padding):
    dtype = float_dtype(grad_output, weight)
    weight = np.asarray(weight, dtype=dtype)
    batch, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = _output_size("conv2d", height, width, kernel_h, kernel_w, stride, padding)
    grad_output = np.asarray(grad_output, dtype=dtype)
    if grad_output.shape != (batch, out_channels, out_h, out_w):
        raise ValueError(f"conv2d: grad_output must have shape "
                         f"{(batch, out_channels, out_h, out_w)}, got {grad_output.shape}")
    grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(batch * out_h * out_w, out_channels)
    weight_rows = weight.reshape(out_channels, channels * kernel_h * kernel_w)
    grad_columns = (grad_rows @ weight_rows).reshape(
        batch, out_h, out_w, channels, kernel_h, kernel_w)
    pad_h, pad_w = padding
    stride_h, stride_w = stride
    grad_padded = np.zeros((batch, channels, height + 2 * pad_h, width + 2 * pad_w), dtype=dtype)
    for p in range(kernel_h):
        for q in range(kernel_w):
            grad_padded[:, :, p:p + stride_h * out_h:stride_h, q:q + stride_w * out_w:stride_w] += (
                grad_columns[:, :, :, :, p, q].transpose(0, 3, 1, 2))
    return np.ascontiguousarray(grad_padded[:, :, pad_h:pad_h + height, pad_w:pad_w + width])


def conv2d_backward_weight(grad_output, x, weight_shape, stride, padding):
    dtype = float_dtype(grad_output, x)
    x = np.ascontiguousarray(x, dtype=dtype)
    _check("conv2d", x, weight_shape)
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = _output_size("conv2d", x.shape[2], x.shape[3], kernel_h, kernel_w, stride,
                                padding)
    grad_output = np.asarray(grad_output, dtype=dtype)
    if grad_output.shape != (x.shape[0], out_channels, out_h, out_w):
        raise ValueError(f"conv2d: grad_output must have shape "
                         f"{(x.shape[0], out_channels, out_h, out_w)}, got {grad_output.shape}")
    columns = _columns(x, kernel_h, kernel_w, stride, padding, out_h, out_w)
    grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(columns.shape[0], out_channels)
    return np.ascontiguousarray((grad_rows.T @ columns).reshape(weight_shape))
