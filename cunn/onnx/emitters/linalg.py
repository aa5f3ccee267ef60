"""linear as Gemm (2-D input) or MatMul + Add; matmul as MatMul."""
from cunn.onnx.emitters import register


def linear_layer(graph, x_name, x_ndim, weight_name, bias_name):
    if x_ndim == 2:
        inputs = [x_name, weight_name] + ([bias_name] if bias_name else [])
        return graph.node("Gemm", inputs, transB=1)
    out = graph.node("MatMul", [x_name, graph.node("Transpose", [weight_name], perm=[1, 0])])
    return graph.node("Add", [out, bias_name]) if bias_name else out


@register("LinearBackward")
def linear(graph, op):
    x, weight, bias = op.inputs
    return linear_layer(graph, graph.value(x), x._data.ndim, graph.value(weight),
                        graph.value(bias))


@register("MatmulBackward")
def matmul(graph, op):
    return graph.node("MatMul", [graph.value(tensor) for tensor in op.inputs])
