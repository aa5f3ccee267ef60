"""gelu, elu, silu, softplus on the backend's smooth_activation kernels; each backward is
computed from the saved input."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["gelu", "elu", "silu", "softplus"]


class _FromInput(Function):
    """Backward = kernels.<name>_backward(grad_output, x, *arguments)."""
    __slots__ = ()
    kernel = None

    def backward(self, grad_output):
        x, arguments = self.saved
        return (getattr(kernels_for(x), self.kernel)(grad_output, x, *arguments),)


class GeluBackward(_FromInput):
    __slots__ = ()
    kernel = "gelu_backward"


class EluBackward(_FromInput):
    __slots__ = ()
    kernel = "elu_backward"


class SiluBackward(_FromInput):
    __slots__ = ()
    kernel = "silu_backward"


class SoftplusBackward(_FromInput):
    __slots__ = ()
    kernel = "softplus_backward"


def _apply(node, forward, x, *arguments):
    data = x._data
    out = getattr(kernels_for(data), forward)(data, *arguments)
    return node.record(out, (x,), data, arguments)


def gelu(x, approximate):
    return _apply(GeluBackward, "gelu_forward", x, approximate)


def elu(x, alpha):
    return _apply(EluBackward, "elu_forward", x, alpha)


def silu(x):
    return _apply(SiluBackward, "silu_forward", x)


def softplus(x, beta, threshold):
    return _apply(SoftplusBackward, "softplus_forward", x, beta, threshold)
