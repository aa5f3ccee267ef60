"""Pooling: max_pool2d as MaxPool (padding never wins a maximum, in both), and the
average pools, whose padded cells count in the divisor as PyTorch's default
count_include_pad=True does."""
from cunn.onnx.emitters import register


@register("MaxPool2dBackward")
def max_pool2d(graph, op):
    _, _, kernel_size, stride, padding = op.saved
    return graph.node("MaxPool", [graph.value(op.inputs[0])], kernel_shape=list(kernel_size),
                      strides=list(stride), pads=[padding[0], padding[1]] * 2)
