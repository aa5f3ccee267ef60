"""batch_norm in eval (running statistics) as BatchNormalization. The op saves the
running mean and 1/sqrt(running_var + eps) it used, not eps: the node gets
var = 1/invstd² and epsilon 0, which normalises by the same factor.
Batch norm on batch statistics in eval (track_running_stats=False) and layer_norm
would need the eps the op does not save, so they stay unsupported."""
import numpy as np

from cunn.onnx._graph import UnsupportedOp
from cunn.onnx.emitters import register


@register("BatchNormBackward")
def batch_norm(graph, op):
    x, weight, bias = op.inputs
    _, mean, invstd, _, batch_statistics = op.saved
    if batch_statistics:
        raise UnsupportedOp("onnx.export: batch_norm normalises with the batch's own "
                            "statistics here (a BatchNorm with track_running_stats=False); "
                            "only running statistics can be exported")
    dtype = x._data.dtype
    channels = mean.shape[0]
    variance = (1.0 / np.square(invstd.astype(np.float64))).astype(dtype)
    scale = graph.value(weight) if weight is not None else \
        graph.constant(np.ones(channels, dtype), "bn_scale")
    shift = graph.value(bias) if bias is not None else \
        graph.constant(np.zeros(channels, dtype), "bn_bias")
    return graph.node("BatchNormalization",
                      [graph.value(x), scale, shift, graph.array(mean, "running_mean"),
                       graph.constant(variance, "running_var")], epsilon=0.0)
