"""conv2d as Conv (NCHW cross-correlation, zero padding, as ONNX defines it)."""
from cunn.onnx.emitters import register


@register("Conv2dBackward")
def conv2d(graph, op):
    x, weight, bias = op.inputs
    _, weight_data, stride, padding = op.saved
    inputs = [graph.value(x), graph.value(weight)] + ([graph.value(bias)] if bias is not None
                                                       else [])
    return graph.node("Conv", inputs, kernel_shape=list(weight_data.shape[2:]),
                      strides=list(stride), pads=[padding[0], padding[1]] * 2)
