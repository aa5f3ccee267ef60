"""GELU, ELU, SiLU, Softplus, spelled with ops every opset from 13 has (ONNX's own Gelu
arrives only in opset 20, and its Softplus has no beta or threshold)."""
import math

import numpy as np

from cunn.onnx.emitters import register


def _scalar(graph, value, dtype, hint="constant"):
    return graph.constant(np.asarray(value, dtype=dtype), hint)


@register("GeluBackward")
def gelu(graph, op):
    x = graph.value(op.inputs[0])
    dtype = op.result._data.dtype
    (approximate,) = op.saved[1]
    if approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))
        cube = graph.node("Mul", [graph.node("Mul", [x, x]), x])
        inner = graph.node("Add", [x, graph.node("Mul", [cube, _scalar(graph, 0.044715, dtype)])])
        inner = graph.node("Mul", [inner, _scalar(graph, math.sqrt(2 / math.pi), dtype)])
        gate = graph.node("Add", [graph.node("Tanh", [inner]), _scalar(graph, 1.0, dtype)])
    else:
        # 0.5 x (1 + erf(x / sqrt 2))
        gate = graph.node("Erf", [graph.node("Mul", [x, _scalar(graph, 1 / math.sqrt(2), dtype)])])
        gate = graph.node("Add", [gate, _scalar(graph, 1.0, dtype)])
    return graph.node("Mul", [graph.node("Mul", [x, gate]), _scalar(graph, 0.5, dtype)])


@register("EluBackward")
def elu(graph, op):
    (alpha,) = op.saved[1]
    return graph.node("Elu", [graph.value(op.inputs[0])], alpha=float(alpha))


@register("SiluBackward")
def silu(graph, op):
    x = graph.value(op.inputs[0])
    return graph.node("Mul", [x, graph.node("Sigmoid", [x])])


@register("SoftplusBackward")
def softplus(graph, op):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's)."""
    beta, threshold = op.saved[1]
    dtype = op.result._data.dtype
    x = graph.value(op.inputs[0])
    scaled = graph.node("Mul", [x, _scalar(graph, beta, dtype)])
    smooth = graph.node("Div", [graph.node("Softplus", [scaled]), _scalar(graph, beta, dtype)])
    linear = graph.node("Greater", [scaled, _scalar(graph, threshold, dtype)])
    return graph.node("Where", [linear, x, smooth])
