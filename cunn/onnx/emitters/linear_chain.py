"""Sequential's fused run of Linear (+ ReLU) layers: one Gemm (+ Relu) per layer."""
from cunn.onnx.emitters import register
from cunn.onnx.emitters.linalg import linear_layer


@register("LinearChainBackward")
def linear_chain(graph, op):
    _, relus = op.saved
    value = graph.value(op.inputs[0])
    for layer, relu in enumerate(relus):
        weight, bias = op.inputs[1 + 2 * layer], op.inputs[2 + 2 * layer]
        value = linear_layer(graph, value, 2, graph.value(weight), graph.value(bias))
        if relu:
            value = graph.node("Relu", [value])
    return value
