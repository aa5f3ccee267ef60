"""Broadcasting arithmetic and the elementwise math functions. Operands are brought to
the result's dtype first, as the op did before computing (PyTorch's promotion)."""
from cunn.onnx.emitters import register
from cunn.onnx.emitters._util import operand

_BINARY = {"AddBackward": "Add", "SubBackward": "Sub", "MulBackward": "Mul",
           "DivBackward": "Div", "PowBackward": "Pow"}
_UNARY = {"NegBackward": "Neg", "ExpBackward": "Exp", "LogBackward": "Log",
          "SqrtBackward": "Sqrt", "AbsBackward": "Abs"}


@register(*_BINARY)
def binary(graph, op):
    dtype = op.result._data.dtype
    return graph.node(_BINARY[op.function.__name__],
                      [operand(graph, tensor, dtype) for tensor in op.inputs])


@register(*_UNARY)
def unary(graph, op):
    return graph.node(_UNARY[op.function.__name__], [graph.value(op.inputs[0])])
