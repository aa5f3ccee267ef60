"""avg_pool2d as AveragePool (count_include_pad as given: ONNX's divisor rule is
PyTorch's), adaptive_avg_pool2d as GlobalAveragePool (output 1x1) or, where the
input divides evenly into the output, an AveragePool of the fixed window."""
from cunn.onnx._graph import UnsupportedOp
from cunn.onnx.emitters import register


@register("AvgPool2dBackward")
def avg_pool2d(graph, op):
    _, kernel_size, stride, padding, count_include_pad = op.saved
    return graph.node("AveragePool", [graph.value(op.inputs[0])],
                      kernel_shape=list(kernel_size), strides=list(stride),
                      pads=[padding[0], padding[1]] * 2,
                      count_include_pad=int(bool(count_include_pad)))


@register("AdaptiveAvgPool2dBackward")
def adaptive_avg_pool2d(graph, op):
    (input_shape,) = op.saved
    in_h, in_w = input_shape[-2:]
    out_h, out_w = op.result.shape[-2:]
    x = graph.value(op.inputs[0])
    if (out_h, out_w) == (1, 1):
        return graph.node("GlobalAveragePool", [x])
    if in_h % out_h or in_w % out_w:
        raise UnsupportedOp(f"onnx.export: adaptive_avg_pool2d from {in_h}x{in_w} to "
                            f"{out_h}x{out_w} uses windows of varying size, which ONNX's "
                            "pooling cannot express (sizes that divide evenly can)")
    window = [in_h // out_h, in_w // out_w]
    return graph.node("AveragePool", [x], kernel_shape=window, strides=window)
