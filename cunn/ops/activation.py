"""relu, leaky_relu, sigmoid, tanh on the backend's activation kernels.

relu and leaky_relu differentiate through their input; sigmoid and tanh through their
output (σ' = σ(1 - σ), tanh' = 1 - tanh²), so those save the output.
"""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh"]


class ReluBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        (x,) = self.saved
        return (kernels_for(x).relu_backward(grad_output, x),)


class LeakyReluBackward(Function):
    __slots__ = ()

    def backward(self, grad_output):
        x, negative_slope = self.saved
        return (kernels_for(x).leaky_relu_backward(grad_output, x, negative_slope),)


class SigmoidBackward(Function):
    __slots__ = ()
    checked_inputs = ()
    saves_output = True

    def backward(self, grad_output):
        (output,) = self.saved
        return (kernels_for(output).sigmoid_backward(grad_output, output),)


class TanhBackward(Function):
    __slots__ = ()
    checked_inputs = ()
    saves_output = True

    def backward(self, grad_output):
        (output,) = self.saved
        return (kernels_for(output).tanh_backward(grad_output, output),)


def relu(x):
    data = x._data
    return ReluBackward.record(kernels_for(data).relu_forward(data), (x,), data)


def leaky_relu(x, negative_slope):
    data = x._data
    out = kernels_for(data).leaky_relu_forward(data, negative_slope)
    return LeakyReluBackward.record(out, (x,), data, negative_slope)


def sigmoid(x):
    out = kernels_for(x._data).sigmoid_forward(x._data)
    return SigmoidBackward.record(out, (x,), out)


def tanh(x):
    out = kernels_for(x._data).tanh_forward(x._data)
    return TanhBackward.record(out, (x,), out)
