"""Tensor.to(dtype) / .float() / .long() as Cast."""
from cunn.onnx.emitters import register


@register("CastBackward")
def cast(graph, op):
    return graph.node("Cast", [graph.value(op.inputs[0])],
                      to=graph.onnx.helper.np_dtype_to_tensor_dtype(op.result._data.dtype))
