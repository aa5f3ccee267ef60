"""2-D convolution (NCHW) on the cuda backend: the runtime's conv2d kernels, with the
twin's argument checks; the bias gradient is bias_grad over the channel axis.
conv2d_relu_pool is composed from the conv2d, relu and max-pool kernels, so it gives the
three ops' results one by one; its "codes" are this backend's own record of the forward (the
convolution's output and the pool's indices), read only by its backward here."""
from cunn._backends.cuda._common import device, empty, optional
from cunn._backends.numpy_ref.conv2d import _output_size

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "conv2d_relu_pool_forward", "conv2d_relu_pool_backward"]


def _sizes(op, input_shape, weight_shape, stride, padding):
    """The runtime's size arguments (n, c, h, w, o, kh, kw, sh, sw, ph, pw) and (oh, ow)."""
    if len(input_shape) != 4 or len(weight_shape) != 4:
        raise ValueError(f"{op}: input and weight must be 4-D, got {tuple(input_shape)} and "
                         f"{tuple(weight_shape)}")
    n, c, h, w = input_shape
    o, weight_channels, kh, kw = weight_shape
    if weight_channels != c:
        raise ValueError(f"{op}: weight has {weight_channels} input channels, the input {c}")
    out_h, out_w = _output_size(op, h, w, kh, kw, stride, padding)
    return (n, c, h, w, o, kh, kw, stride[0], stride[1], padding[0], padding[1]), (out_h, out_w)


def conv2d_forward(x, weight, bias, stride, padding):
    x, weight = device("conv2d", x, "x"), device("conv2d", weight, "weight")
    bias = optional("conv2d", bias, "bias")
    sizes, (out_h, out_w) = _sizes("conv2d", x.shape, weight.shape, stride, padding)
    out = empty((x.shape[0], weight.shape[0], out_h, out_w))
    if out.size:
        out.runtime.conv2d_forward(out.ptr, x.ptr, weight.ptr, 0 if bias is None else bias.ptr,
                                   *sizes)
    return out


def conv2d_backward_input(grad_output, weight, input_shape, stride, padding):
    grad_output = device("conv2d_backward_input", grad_output, "grad_output")
    weight = device("conv2d_backward_input", weight, "weight")
    sizes, _ = _sizes("conv2d_backward_input", input_shape, weight.shape, stride, padding)
    grad_input = empty(tuple(input_shape))
    if grad_input.size:
        grad_input.runtime.conv2d_backward_input(grad_input.ptr, grad_output.ptr, weight.ptr,
                                                 *sizes)
    return grad_input


def conv2d_backward_weight(grad_output, x, weight_shape, stride, padding):
    grad_output = device("conv2d_backward_weight", grad_output, "grad_output")
    x = device("conv2d_backward_weight", x, "x")
    sizes, _ = _sizes("conv2d_backward_weight", x.shape, weight_shape, stride, padding)
    grad_weight = empty(tuple(weight_shape))
    if grad_weight.size:
        if x.size:
            grad_weight.runtime.conv2d_backward_weight(grad_weight.ptr, grad_output.ptr, x.ptr,
                                                       *sizes)
        else:  # an empty batch contributes nothing
            grad_weight.fill(0)
    return grad_weight


def conv2d_relu_pool_forward(x, weight, bias, stride, padding):
    from cunn._backends.cuda.activation import relu_forward
    from cunn._backends.cuda.pool import max_pool2d_forward

    conv = conv2d_forward(x, weight, bias, stride, padding)
    if conv.shape[2] < 2 or conv.shape[3] < 2:
        raise ValueError(f"conv2d_relu_pool: the convolution's output {conv.shape[2:]} is "
                         "smaller than the 2x2 pool window")
    pooled, indices = max_pool2d_forward(relu_forward(conv), (2, 2), (2, 2), (0, 0))
    return pooled, (conv, indices)


def conv2d_relu_pool_backward(grad_output, codes, x, weight, stride, padding, need_x,
                              need_weight, need_bias):
    from cunn._backends.cuda.activation import relu_backward
    from cunn._backends.cuda.gemm import bias_grad
    from cunn._backends.cuda.pool import max_pool2d_backward

    conv, indices = codes
    grad_conv = relu_backward(max_pool2d_backward(grad_output, indices, conv.shape), conv)
    return (conv2d_backward_input(grad_conv, weight, x.shape, stride, padding) if need_x
            else None,
            conv2d_backward_weight(grad_conv, x, weight.shape, stride, padding) if need_weight
            else None,
            bias_grad(grad_conv, 1) if need_bias else None)
