"""Average pooling (NCHW), reference (formulas in csrc/kernels/avg_pool.h).

avg_pool2d: window sums over the zero-padded input divided by kh * kw (count_include_pad)
or by the number of positions inside the input. adaptive_avg_pool2d: PyTorch's windows
[floor(i * H / OH), ceil((i + 1) * H / OH)), each averaged over its own area.
"""
import numpy as np

from ._common import float_dtype

__all__ = ["avg_pool2d_forward", "avg_pool2d_backward",
           "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]


def _output_size(height, width, kernel_size, stride, padding):
    (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w) = kernel_size, stride, padding
    if min(kernel_h, kernel_w, stride_h, stride_w) < 1 or min(pad_h, pad_w) < 0 \
            or 2 * pad_h > kernel_h or 2 * pad_w > kernel_w:
        raise ValueError(f"avg_pool2d: bad kernel_size {kernel_size}, stride {stride} or "
                         f"padding {padding}")
    out_h = (height + 2 * pad_h - kernel_h) // stride_h + 1
    out_w = (width + 2 * pad_w - kernel_w) // stride_w + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"avg_pool2d: kernel {tuple(kernel_size)} is larger than the padded "
                         f"input ({height + 2 * pad_h}, {width + 2 * pad_w})")
    return out_h, out_w


def _windows(padded, out_h, out_w, kernel_size, stride):
    s_n, s_c, s_h, s_w = padded.strides
    return np.lib.stride_tricks.as_strided(
        padded, shape=padded.shape[:2] + (out_h, out_w) + tuple(kernel_size),
        strides=(s_n, s_c, s_h * stride[0], s_w * stride[1], s_h, s_w), writeable=False)


def _divisors(height, width, out_h, out_w, kernel_size, stride, padding, count_include_pad,
              dtype):
    if count_include_pad:
        return dtype(kernel_size[0] * kernel_size[1])
    inside = np.pad(np.ones((1, 1, height, width), dtype), ((0, 0), (0, 0),
                    (padding[0], padding[0]), (padding[1], padding[1])))
    return _windows(inside, out_h, out_w, kernel_size, stride).sum(axis=(-2, -1))[0, 0]


def avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=True):
    x = np.asarray(x, dtype=float_dtype(x))
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    height, width = x.shape[2:]
    out_h, out_w = _output_size(height, width, kernel_size, stride, padding)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    sums = _windows(padded, out_h, out_w, kernel_size, stride).sum(axis=(-2, -1))
    divisors = _divisors(height, width, out_h, out_w, kernel_size, stride, padding,
                         count_include_pad, x.dtype.type)
    return np.ascontiguousarray((sums / divisors).astype(x.dtype, copy=False))


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride, padding,
                        count_include_pad=True):
    dtype = float_dtype(grad_output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    batch, channels, height, width = input_shape
    out_h, out_w = _output_size(height, width, kernel_size, stride, padding)
    if grad_output.shape != (batch, channels, out_h, out_w):
        raise ValueError(f"avg_pool2d: grad_output must have shape "
                         f"{(batch, channels, out_h, out_w)}, got {grad_output.shape}")
    divisors = _divisors(height, width, out_h, out_w, kernel_size, stride, padding,
                         count_include_pad, dtype)
    share = (grad_output / divisors).astype(dtype, copy=False)
    padded = np.zeros((batch, channels, height + 2 * padding[0], width + 2 * padding[1]), dtype)
    for dh in range(kernel_size[0]):
        for dw in range(kernel_size[1]):
            padded[:, :, dh:dh + stride[0] * (out_h - 1) + 1:stride[0],
                   dw:dw + stride[1] * (out_w - 1) + 1:stride[1]] += share
    return np.ascontiguousarray(padded[:, :, padding[0]:padding[0] + height,
                                       padding[1]:padding[1] + width])


def _adaptive_windows(size, out_size):
    return [((i * size) // out_size, -(-((i + 1) * size) // out_size)) for i in range(out_size)]


def adaptive_avg_pool2d_forward(x, output_size):
    x = np.asarray(x, dtype=float_dtype(x))
    if x.ndim != 4 or 0 in x.shape[2:]:
        raise ValueError(f"adaptive_avg_pool2d: input must be 4-D (N, C, H, W) with H, W >= 1, "
                         f"got shape {x.shape}")
    out_h, out_w = output_size
    out = np.empty(x.shape[:2] + (out_h, out_w), x.dtype)
    for i, (h0, h1) in enumerate(_adaptive_windows(x.shape[2], out_h)):
        for j, (w0, w1) in enumerate(_adaptive_windows(x.shape[3], out_w)):
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / x.dtype.type(
                (h1 - h0) * (w1 - w0))
    return out


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    dtype = float_dtype(grad_output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    batch, channels, height, width = input_shape
    out_h, out_w = grad_output.shape[2:]
    grad_input = np.zeros(tuple(input_shape), dtype)
    for i, (h0, h1) in enumerate(_adaptive_windows(height, out_h)):
        for j, (w0, w1) in enumerate(_adaptive_windows(width, out_w)):
            share = grad_output[:, :, i, j] / dtype((h1 - h0) * (w1 - w0))
            grad_input[:, :, h0:h1, w0:w1] += share[:, :, None, None]
    return grad_input
