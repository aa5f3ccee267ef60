"""Shape ops: reshape/view/flatten/squeeze/unsqueeze as Reshape, permute/transpose as
Transpose, cat as Concat, stack as Unsqueeze + Concat, clone as Identity."""
from cunn.onnx.emitters import register
from cunn.onnx.emitters._util import int64s


@register("ReshapeBackward")
def reshape(graph, op):
    (input_shape,) = op.saved
    target = list(op.result.shape)
    # Leading dims the reshape keeps (the batch, at least) are copied from the input at
    # run time (0 in Reshape's shape), so the graph reshapes any batch size.
    for axis, size in enumerate(input_shape[:len(target)]):
        if target[axis] != size:
            break
        target[axis] = 0
    return graph.node("Reshape", [graph.value(op.inputs[0]), int64s(graph, target)])


@register("PermuteBackward")
def permute(graph, op):
    (order,) = op.saved
    return graph.node("Transpose", [graph.value(op.inputs[0])], perm=[int(axis) for axis in order])


@register("CatBackward")
def cat(graph, op):
    return graph.node("Concat", [graph.value(tensor) for tensor in op.inputs],
                      axis=int(op.saved[0]))


@register("StackBackward")
def stack(graph, op):
    axis = int(op.saved[0])
    axes = int64s(graph, [axis], "axes")
    return graph.node("Concat", [graph.node("Unsqueeze", [graph.value(tensor), axes])
                                 for tensor in op.inputs], axis=axis)


@register("CloneBackward")
def clone(graph, op):
    return graph.node("Identity", [graph.value(op.inputs[0])])
