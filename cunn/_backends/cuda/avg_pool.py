"""Average pooling (NCHW) on the cuda backend: the runtime's kernels over the N*C planes,
with the twin's argument checks."""
from cunn._backends.cuda._common import device, empty
from cunn._backends.numpy_ref.avg_pool import _output_size

__all__ = ["avg_pool2d_forward", "avg_pool2d_backward",
           "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]


def _planes(op, x):
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    return x.shape[0] * x.shape[1]


def avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=True):
    x = device("avg_pool2d", x, "x")
    planes = _planes("avg_pool2d", x)
    height, width = x.shape[2:]
    out_h, out_w = _output_size(height, width, kernel_size, stride, padding)
    out = empty(x.shape[:2] + (out_h, out_w))
    if out.size:
        x.runtime.avg_pool2d_forward(out.ptr, x.ptr, planes, height, width, out_h, out_w,
                                     *kernel_size, *stride, *padding, bool(count_include_pad))
    return out


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride, padding,
                        count_include_pad=True):
    grad_output = device("avg_pool2d", grad_output, "grad_output")
    batch, channels, height, width = input_shape
    out_h, out_w = _output_size(height, width, kernel_size, stride, padding)
    if grad_output.shape != (batch, channels, out_h, out_w):
        raise ValueError(f"avg_pool2d: grad_output must have shape "
                         f"{(batch, channels, out_h, out_w)}, got {grad_output.shape}")
    grad_input = empty(tuple(input_shape))
    if grad_input.size:
        grad_input.runtime.avg_pool2d_backward(
            grad_input.ptr, grad_output.ptr, batch * channels, height, width, out_h, out_w,
            *kernel_size, *stride, *padding, bool(count_include_pad))
    return grad_input


def adaptive_avg_pool2d_forward(x, output_size):
    x = device("adaptive_avg_pool2d", x, "x")
    if x.ndim != 4 or 0 in x.shape[2:]:
        raise ValueError(f"adaptive_avg_pool2d: input must be 4-D (N, C, H, W) with H, W >= 1, "
                         f"got shape {x.shape}")
    out_h, out_w = output_size
    out = empty(x.shape[:2] + (out_h, out_w))
    if out.size:
        x.runtime.adaptive_avg_pool2d_forward(out.ptr, x.ptr, x.shape[0] * x.shape[1],
                                              *x.shape[2:], out_h, out_w)
    return out


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    grad_output = device("adaptive_avg_pool2d", grad_output, "grad_output")
    batch, channels, height, width = input_shape
    out_h, out_w = grad_output.shape[2:]
    grad_input = empty(tuple(input_shape))
    if grad_input.size:
        grad_input.runtime.adaptive_avg_pool2d_backward(
            grad_input.ptr, grad_output.ptr, batch * channels, height, width, out_h, out_w)
    return grad_input
