"""max_pool2d on the backend's pool kernels: the forward keeps the index of each maximum,
the backward sends each gradient there."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["max_pool2d"]


class MaxPool2dBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        indices, input_shape = self.saved[:2]
        return (kernels_for(grad_output).max_pool2d_backward(
            grad_output, indices, input_shape),)


def max_pool2d(x, kernel_size, stride, padding):
    out, indices = kernels_for(x._data).max_pool2d_forward(
        x._data, kernel_size, stride, padding)
    # The window is saved too, for cunn.onnx's MaxPool (the backward needs only indices).
    return MaxPool2dBackward.record(out, (x,), indices, x._data.shape, kernel_size, stride,
                                    padding)
