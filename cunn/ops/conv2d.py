"""conv2d (NCHW cross-correlation) on the backend's conv2d kernels; the bias gradient is
bias_grad over the channel axis. conv2d_relu_pool: conv2d, relu and a 2x2 max-pool as one op
(nn.Sequential's runs of Conv2d, ReLU, MaxPool2d(2): cunn/nn/modules/_fusion.py), with the
results of the three ops one by one, bit for bit; the checks are the caller's."""
from cunn.autograd.function import Function, product_operands
from cunn.ops._util import kernels_for

__all__ = ["conv2d", "conv2d_relu_pool"]


class Conv2dBackward(Function):
    __slots__ = ()
    checked_inputs = product_operands
    fresh_gradients = True  # the backend kernels' new arrays

    def backward(self, grad_output):
        x, weight, stride, padding = self.saved
        kernels = kernels_for(grad_output)
        grad_x = grad_weight = grad_bias = None
        if self.needs_input_grad[0]:
            grad_x = kernels.conv2d_backward_input(grad_output, weight, x.shape, stride, padding)
        if self.needs_input_grad[1]:
            grad_weight = kernels.conv2d_backward_weight(grad_output, x, weight.shape, stride,
                                                         padding)
        if self.needs_input_grad[2]:
            grad_bias = kernels.bias_grad(grad_output, 1)
        return grad_x, grad_weight, grad_bias


def conv2d(x, weight, bias, stride, padding):
    out = kernels_for(x._data).conv2d_forward(
        x._data, weight._data, None if bias is None else bias._data, stride, padding)
    return Conv2dBackward.record(out, (x, weight, bias), x._data, weight._data, stride, padding)


class Conv2dReluPoolBackward(Function):
    __slots__ = ()
    checked_inputs = product_operands
    fresh_gradients = True  # the backend kernel's new arrays

    def backward(self, grad_output):
        x, weight, codes, stride, padding = self.saved
        needs = self.needs_input_grad
        return kernels_for(grad_output).conv2d_relu_pool_backward(
            grad_output, codes, x, weight, stride, padding, needs[0], needs[1], needs[2])


def conv2d_relu_pool(x, weight, bias, stride, padding):
    """max_pool2d(relu(conv2d(x, weight, bias, stride, padding)), 2): the convolution's
    output must be at least 2x2."""
    out, codes = kernels_for(x._data).conv2d_relu_pool_forward(
        x._data, weight._data, None if bias is None else bias._data, stride, padding)
    return Conv2dReluPoolBackward.record(out, (x, weight, bias), x._data, weight._data, codes,
                                         stride, padding)
