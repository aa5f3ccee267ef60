"""sum and mean over dims as ReduceSum / ReduceMean (mean records a scale of 1/count;
ReduceMean divides by the count at run time, so a dynamic batch stays right)."""
from cunn.onnx.emitters import register
from cunn.onnx.emitters._util import int64s


@register("SumBackward")
def reduce_sum(graph, op):
    input_shape, dims, keepdim, scale = op.saved
    axes = list(range(len(input_shape))) if dims is None else [int(axis) for axis in dims]
    x = graph.value(op.inputs[0])
    if scale == 1:
        return graph.node("ReduceSum", [x, int64s(graph, axes, "axes")], keepdims=int(keepdim))
    if graph.opset_version >= 18:  # axes moved from an attribute to an input
        return graph.node("ReduceMean", [x, int64s(graph, axes, "axes")], keepdims=int(keepdim))
    return graph.node("ReduceMean", [x], axes=axes, keepdims=int(keepdim))
