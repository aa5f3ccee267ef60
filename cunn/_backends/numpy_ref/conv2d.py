"""2-D convolution (cross-correlation, NCHW, zero padding), reference.

out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q] * xpad[n, c, i*sh + p, j*sw + q]
Computed as im2col (a strided window view, copied once) times the weight matrix;
the input gradient scatters the column gradient back one kernel offset at a time.
Only the outputs and kernel offsets that read the input take part (_window): the others
see padding alone, so huge padding, kernels or strides cost nothing extra. A kernel far
larger than the input is handled one input pixel at a time instead (_pixels), at the cost
of the products that involve an input value.
"""
import numpy as np

from ._common import float_dtype

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "conv2d_relu_pool_forward", "conv2d_relu_pool_backward"]

# conv2d_relu_pool codes: the window position (0 top left ... 3 bottom right) of each
# maximum when the gradient passes the ReLU there, else _NO_GRADIENT.
_NO_GRADIENT = 4


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


def _window(size, kernel, stride, pad, out):
    """The part of one axis that reads the input: output indices [lo, hi), kernel offsets
    [first, last), and the input span [start, stop) they read (indices outside [0, size)
    are padding). Outputs outside [lo, hi) read padding alone, and offsets outside
    [first, last) read padding for every output in [lo, hi): leaving both out makes the
    cost independent of how large the padding, the kernel or the stride is."""
    lo = max(0, (pad - kernel) // stride + 1)
    hi = min(out, (size + pad + stride - 1) // stride)
    if lo >= hi:
        return None
    first = max(0, pad - (hi - 1) * stride)
    last = min(kernel, size + pad - lo * stride)
    start = lo * stride - pad + first
    stop = (hi - 1) * stride - pad + last
    return lo, hi, first, last, start, stop


def _windows(x, weight_shape, stride, padding, out_h, out_w):
    """The rows and columns of the output that read x, each axis's _window, or None."""
    rows = _window(x.shape[2], weight_shape[2], stride[0], padding[0], out_h)
    cols = _window(x.shape[3], weight_shape[3], stride[1], padding[1], out_w)
    return None if rows is None or cols is None else (rows, cols)


def _span(x, rows, cols):
    """x[:, :, start:stop, start:stop] of each axis's window, zero outside x."""
    (_, _, _, _, top, bottom), (_, _, _, _, left, right) = rows, cols
    height, width = x.shape[2:]
    span = np.zeros(x.shape[:2] + (bottom - top, right - left), dtype=x.dtype)
    h0, h1 = max(top, 0), min(bottom, height)
    w0, w1 = max(left, 0), min(right, width)
    if h0 < h1 and w0 < w1:
        span[:, :, h0 - top:h1 - top, w0 - left:w1 - left] = x[:, :, h0:h1, w0:w1]
    return span


def _columns(x, rows, cols, stride):
    """(N*OH'*OW', C*kh'*kw') patches of the span that the window's outputs read, for its
    outputs [lo, hi) and kernel offsets [first, last) of each axis."""
    span = _span(x, rows, cols)
    batch, channels = x.shape[:2]
    out_h, kernel_h = rows[1] - rows[0], rows[3] - rows[2]
    out_w, kernel_w = cols[1] - cols[0], cols[3] - cols[2]
    s_n, s_c, s_h, s_w = span.strides
    windows = np.lib.stride_tricks.as_strided(
        span,
        shape=(batch, out_h, out_w, channels, kernel_h, kernel_w),
        strides=(s_n, s_h * stride[0], s_w * stride[1], s_c, s_h, s_w),
        writeable=False)
    return windows.reshape(batch * out_h * out_w, channels * kernel_h * kernel_w)


def _kernel_part(weight, rows, cols):
    """weight's offsets [first, last) of each axis, as (O, C*kh'*kw')."""
    part = weight[:, :, rows[2]:rows[3], cols[2]:cols[3]]
    return part.reshape(part.shape[0], part.shape[1] * part.shape[2] * part.shape[3])


def _pixel_loop_pays(x_shape, rows, cols, stride):
    """Whether visiting the input pixels one at a time (_pixels) beats im2col over the
    window: when the kernel is far larger than the input, im2col's columns are almost all
    padding (a 1x1 input under a 1024x1024 kernel: 2^40 values for 2^20 products)."""
    height, width = x_shape[2:]
    im2col = (rows[1] - rows[0]) * (cols[1] - cols[0]) * (rows[3] - rows[2]) * (cols[3] - cols[2])
    reads = min(rows[1] - rows[0], -(-(rows[3] - rows[2]) // stride[0])) * min(
        cols[1] - cols[0], -(-(cols[3] - cols[2]) // stride[1]))
    # 256: a Python iteration costs about as much as that many products.
    return im2col > 64 * height * width * (reads + 256)


def _pixels(height, width, kernel_h, kernel_w, stride, padding, out_h, out_w):
    """For each input pixel (h, w) that some output reads: the output rows and columns
    reading it (slices) and the kernel offsets they read it with (index arrays)."""
    (stride_h, stride_w), (pad_h, pad_w) = stride, padding

    def readers(index, kernel, stride, pad, out):
        lo = max(0, -(-(index + pad - kernel + 1) // stride))
        hi = min(out, (index + pad) // stride + 1)
        return slice(lo, hi), index + pad - np.arange(lo, hi) * stride

    for h in range(height):
        rows, p = readers(h, kernel_h, stride_h, pad_h, out_h)
        if not p.size:
            continue
        for w in range(width):
            cols, q = readers(w, kernel_w, stride_w, pad_w, out_w)
            if q.size:
                yield h, w, rows, cols, p[:, None], q[None, :]


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
    result = np.zeros((x.shape[0], out_channels, out_h, out_w), dtype=dtype)
    if bias is not None:
        result += np.asarray(bias, dtype=dtype)[:, None, None]
    window = _windows(x, weight.shape, stride, padding, out_h, out_w)
    if window is None:
        return result
    rows, cols = window
    if _pixel_loop_pays(x.shape, rows, cols, stride):
        for h, w, out_rows, out_cols, p, q in _pixels(*x.shape[2:], kernel_h, kernel_w, stride,
                                                      padding, out_h, out_w):
            result[:, :, out_rows, out_cols] += np.einsum("nc,ocij->noij", x[:, :, h, w],
                                                          weight[:, :, p, q])
        return result
    part = _columns(x, rows, cols, stride) @ _kernel_part(weight, rows, cols).T
    if bias is not None:
        part += np.asarray(bias, dtype=dtype)
    result[:, :, rows[0]:rows[1], cols[0]:cols[1]] = part.reshape(
        x.shape[0], rows[1] - rows[0], cols[1] - cols[0], out_channels).transpose(0, 3, 1, 2)
    return result


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
    grad_input = np.zeros(tuple(input_shape), dtype=dtype)
    rows = _window(height, kernel_h, stride[0], padding[0], out_h)
    cols = _window(width, kernel_w, stride[1], padding[1], out_w)
    if rows is None or cols is None:
        return grad_input
    if _pixel_loop_pays(input_shape, rows, cols, stride):
        for h, w, out_rows, out_cols, p, q in _pixels(height, width, kernel_h, kernel_w, stride,
                                                      padding, out_h, out_w):
            grad_input[:, :, h, w] = np.einsum("noij,ocij->nc",
                                               grad_output[:, :, out_rows, out_cols],
                                               weight[:, :, p, q])
        return grad_input
    (row_lo, row_hi, p_lo, p_hi, top, bottom) = rows
    (col_lo, col_hi, q_lo, q_hi, left, right) = cols
    part_h, part_w = row_hi - row_lo, col_hi - col_lo
    kernel_h, kernel_w = p_hi - p_lo, q_hi - q_lo
    grad_rows = grad_output[:, :, row_lo:row_hi, col_lo:col_hi].transpose(0, 2, 3, 1).reshape(
        batch * part_h * part_w, out_channels)
    grad_columns = (grad_rows @ _kernel_part(weight, rows, cols)).reshape(
        batch, part_h, part_w, channels, kernel_h, kernel_w)
    stride_h, stride_w = stride
    # The span's gradient, one kernel offset (or one output position, if there are fewer
    # of those) at a time, in the order the offsets are summed.
    grad_span = np.zeros((batch, channels, bottom - top, right - left), dtype=dtype)
    if kernel_h * kernel_w <= part_h * part_w:
        for p in range(kernel_h):
            for q in range(kernel_w):
                grad_span[:, :, p:p + stride_h * part_h:stride_h,
                          q:q + stride_w * part_w:stride_w] += (
                    grad_columns[:, :, :, :, p, q].transpose(0, 3, 1, 2))
    else:
        for i in range(part_h):
            for j in range(part_w):
                grad_span[:, :, i * stride_h:i * stride_h + kernel_h,
                          j * stride_w:j * stride_w + kernel_w] += grad_columns[:, i, j]
    h0, h1 = max(top, 0), min(bottom, height)
    w0, w1 = max(left, 0), min(right, width)
    if h0 < h1 and w0 < w1:
        grad_input[:, :, h0:h1, w0:w1] = grad_span[:, :, h0 - top:h1 - top, w0 - left:w1 - left]
    return grad_input


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
    grad_weight = np.zeros(tuple(weight_shape), dtype=dtype)
    window = _windows(x, weight_shape, stride, padding, out_h, out_w)
    if window is None:
        return grad_weight
    rows, cols = window
    if _pixel_loop_pays(x.shape, rows, cols, stride):
        for h, w, out_rows, out_cols, p, q in _pixels(*x.shape[2:], kernel_h, kernel_w, stride,
                                                      padding, out_h, out_w):
            # Within one pixel the offsets (p, q) are distinct, so += adds each once.
            grad_weight[:, :, p, q] += np.einsum("noij,nc->ocij",
                                                 grad_output[:, :, out_rows, out_cols],
                                                 x[:, :, h, w])
        return grad_weight
    grad_rows = grad_output[:, :, rows[0]:rows[1], cols[0]:cols[1]].transpose(
        0, 2, 3, 1).reshape(x.shape[0] * (rows[1] - rows[0]) * (cols[1] - cols[0]), out_channels)
    grad_weight[:, :, rows[2]:rows[3], cols[2]:cols[3]] = (
        grad_rows.T @ _columns(x, rows, cols, stride)).reshape(
        out_channels, x.shape[1], rows[3] - rows[2], cols[3] - cols[2])
    return grad_weight


def conv2d_relu_pool_forward(x, weight, bias, stride, padding):
    """max_pool2d(relu(conv2d(x)), 2) composed from the twins -> (pooled, codes uint8)."""
    from .activation import relu_forward
    from .pool import max_pool2d_forward

    conv = conv2d_forward(x, weight, bias, stride, padding)
    if conv.shape[2] < 2 or conv.shape[3] < 2:
        raise ValueError(f"conv2d_relu_pool: the convolution's output {conv.shape[2:]} is "
                         "smaller than the 2x2 pool window")
    pooled, indices = max_pool2d_forward(relu_forward(conv), (2, 2), (2, 2), (0, 0))
    batch, channels, pooled_h, pooled_w = pooled.shape
    width = conv.shape[3]
    rows = indices // width - 2 * np.arange(pooled_h)[:, None]
    cols = indices % width - 2 * np.arange(pooled_w)
    source = np.take_along_axis(conv.reshape(batch, channels, -1),
                                indices.reshape(batch, channels, -1), axis=2)
    codes = np.where(source.reshape(pooled.shape) > 0, 2 * rows + cols, _NO_GRADIENT)
    return pooled, codes.astype(np.uint8)


def conv2d_relu_pool_backward(grad_output, codes, x, weight, stride, padding, need_x,
                              need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias) of conv2d_relu_pool_forward, None where not needed:
    the convolution's output gradient is grad_output at each code's position, 0 elsewhere."""
    from .gemm import bias_grad

    dtype = float_dtype(grad_output, x, weight)
    grad_output = np.asarray(grad_output, dtype=dtype)
    codes = np.asarray(codes)
    out_h, out_w = _output_size("conv2d", x.shape[2], x.shape[3], weight.shape[2],
                                weight.shape[3], stride, padding)
    pooled_h, pooled_w = grad_output.shape[2:]
    grad_conv = np.zeros(grad_output.shape[:2] + (out_h, out_w), dtype=dtype)
    for position in range(4):
        row, col = divmod(position, 2)
        window = grad_conv[:, :, row:2 * pooled_h:2, col:2 * pooled_w:2]
        np.copyto(window, grad_output, where=codes == position)
    return (conv2d_backward_input(grad_conv, weight, x.shape, stride, padding) if need_x
            else None,
            conv2d_backward_weight(grad_conv, x, weight.shape, stride, padding) if need_weight
            else None,
            bias_grad(grad_conv, 1) if need_bias else None)
