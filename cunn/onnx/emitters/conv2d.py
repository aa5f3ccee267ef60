"""conv2d as Conv (NCHW cross-correlation, zero padding, as ONNX defines it); the fused
conv2d_relu_pool as Conv, Relu, MaxPool."""
from cunn.onnx.emitters import register


@register("Conv2dBackward")
def conv2d(graph, op):
    x, weight, bias = op.inputs
    _, weight_data, stride, padding = op.saved
    inputs = [graph.value(x), graph.value(weight)] + ([graph.value(bias)] if bias is not None
                                                       else [])
    return graph.node("Conv", inputs, kernel_shape=list(weight_data.shape[2:]),
                      strides=list(stride), pads=[padding[0], padding[1]] * 2)


@register("Conv2dReluPoolBackward")
def conv2d_relu_pool(graph, op):
    """Sequential's fused Conv2d, ReLU, MaxPool2d(2): the three nodes."""
    x, weight, bias = op.inputs
    _, weight_data, _, stride, padding = op.saved
    inputs = [graph.value(x), graph.value(weight)] + ([graph.value(bias)] if bias is not None
                                                       else [])
    value = graph.node("Conv", inputs, kernel_shape=list(weight_data.shape[2:]),
                       strides=list(stride), pads=[padding[0], padding[1]] * 2)
    value = graph.node("Relu", [value])
    return graph.node("MaxPool", [value], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
