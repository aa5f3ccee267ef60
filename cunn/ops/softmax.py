"""softmax and log_softmax along a dim, on the backend's softmax kernels (both
differentiate through their output)."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["softmax", "log_softmax"]


class SoftmaxBackward(Function):
    __slots__ = ()
    checked_inputs = ()
    saves_output = True

    def backward(self, grad_output):
        output, dim = self.saved
        return (kernels_for(output).softmax_backward(grad_output, output, dim),)


class LogSoftmaxBackward(Function):
    __slots__ = ()
    checked_inputs = ()
    saves_output = True

    def backward(self, grad_output):
        output, dim = self.saved
        return (kernels_for(output).log_softmax_backward(grad_output, output, dim),)


def softmax(x, dim):
    out = kernels_for(x._data).softmax_forward(x._data, dim)
    return SoftmaxBackward.record(out, (x,), out, dim)


def log_softmax(x, dim):
    out = kernels_for(x._data).log_softmax_forward(x._data, dim)
    return LogSoftmaxBackward.record(out, (x,), out, dim)
