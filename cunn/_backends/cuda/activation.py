"""relu, leaky_relu, sigmoid, tanh on the cuda backend: the runtime's activation kernels
(sigmoid and tanh differentiate through their output, the others through x)."""
from cunn._backends.cuda._common import device, empty

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "activation_forward", "activation_backward",
]


def activation_forward(kind, x, param0=0.0, param1=0.0):
    x = device(kind, x, "x")
    out = empty(x.shape)
    if x.size:
        x.runtime.activation_forward(kind, out.ptr, x.ptr, x.size, float(param0), float(param1))
    return out


def activation_backward(kind, grad_output, saved, param0=0.0, param1=0.0):
    grad_output = device(kind, grad_output, "grad_output")
    saved = device(kind, saved, "x")
    if grad_output.shape != saved.shape:
        raise ValueError(f"{kind}: grad_output has shape {grad_output.shape}, the input "
                         f"{saved.shape}")
    grad_input = empty(saved.shape)
    if saved.size:
        saved.runtime.activation_backward(kind, grad_input.ptr, grad_output.ptr, saved.ptr,
                                          saved.size, float(param0), float(param1))
    return grad_input


def relu_forward(x):
    return activation_forward("relu", x)


def relu_backward(grad_output, x):
    return activation_backward("relu", grad_output, x)


def leaky_relu_forward(x, negative_slope):
    return activation_forward("leaky_relu", x, negative_slope)


def leaky_relu_backward(grad_output, x, negative_slope):
    return activation_backward("leaky_relu", grad_output, x, negative_slope)


def sigmoid_forward(x):
    return activation_forward("sigmoid", x)


def sigmoid_backward(grad_output, output):
    return activation_backward("sigmoid", grad_output, output)


def tanh_forward(x):
    return activation_forward("tanh", x)


def tanh_backward(grad_output, output):
    return activation_backward("tanh", grad_output, output)
