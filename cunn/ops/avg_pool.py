"""avg_pool2d and adaptive_avg_pool2d on the backend's avg_pool kernels; each backward
spreads a window's gradient evenly over the positions it averaged."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["avg_pool2d", "adaptive_avg_pool2d"]


class AvgPool2dBackward(Function):
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        input_shape, kernel_size, stride, padding, count_include_pad = self.saved
        return (kernels_for(grad_output).avg_pool2d_backward(
            grad_output, input_shape, kernel_size, stride, padding, count_include_pad),)


def avg_pool2d(x, kernel_size, stride, padding, count_include_pad):
    out = kernels_for(x._data).avg_pool2d_forward(x._data, kernel_size, stride, padding,
                                                         count_include_pad)
    return AvgPool2dBackward.record(out, (x,), x._data.shape, kernel_size, stride, padding,
                                    count_include_pad)


class AdaptiveAvgPool2dBackward(Function):
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        (input_shape,) = self.saved
        return (kernels_for(grad_output).adaptive_avg_pool2d_backward(
            grad_output, input_shape),)


def adaptive_avg_pool2d(x, output_size):
    out = kernels_for(x._data).adaptive_avg_pool2d_forward(x._data, output_size)
    return AdaptiveAvgPool2dBackward.record(out, (x,), x._data.shape)
