"""Elementwise activations: one ONNX op each."""
from cunn.onnx.emitters import register


@register("ReluBackward")
def relu(graph, op):
    return graph.node("Relu", [graph.value(op.inputs[0])])


@register("LeakyReluBackward")
def leaky_relu(graph, op):
    return graph.node("LeakyRelu", [graph.value(op.inputs[0])], alpha=float(op.saved[1]))


@register("SigmoidBackward")
def sigmoid(graph, op):
    return graph.node("Sigmoid", [graph.value(op.inputs[0])])


@register("TanhBackward")
def tanh(graph, op):
    return graph.node("Tanh", [graph.value(op.inputs[0])])
