"""softmax / log_softmax along one dim (ONNX's opset-13 Softmax is exactly that)."""
from cunn.onnx.emitters import register


@register("SoftmaxBackward")
def softmax(graph, op):
    return graph.node("Softmax", [graph.value(op.inputs[0])], axis=int(op.saved[1]))


@register("LogSoftmaxBackward")
def log_softmax(graph, op):
    return graph.node("LogSoftmax", [graph.value(op.inputs[0])], axis=int(op.saved[1]))
