"""gelu, elu, silu, softplus on the cuda backend: the runtime's activation kernels, each
gradient from the forward's input x."""
from cunn._backends.cuda.activation import activation_backward, activation_forward

__all__ = ["gelu_forward", "gelu_backward", "elu_forward", "elu_backward", "silu_forward",
           "silu_backward", "softplus_forward", "softplus_backward"]


def _gelu_mode(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.0 if approximate == "none" else 1.0


def gelu_forward(x, approximate="none"):
    return activation_forward("gelu", x, _gelu_mode(approximate))


def gelu_backward(grad_output, x, approximate="none"):
    return activation_backward("gelu", grad_output, x, _gelu_mode(approximate))


def elu_forward(x, alpha):
    return activation_forward("elu", x, alpha)


def elu_backward(grad_output, x, alpha):
    return activation_backward("elu", grad_output, x, alpha)


def silu_forward(x):
    return activation_forward("silu", x)


def silu_backward(grad_output, x):
    return activation_backward("silu", grad_output, x)


def softplus_forward(x, beta, threshold):
    return activation_forward("softplus", x, beta, threshold)


def softplus_backward(grad_output, x, beta, threshold):
    return activation_backward("softplus", grad_output, x, beta, threshold)
