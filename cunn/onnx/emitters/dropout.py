"""dropout: export runs in eval mode, where nn.Dropout and F.dropout(training=False)
record nothing; a dropout that still runs was asked for with training=True."""
from cunn.onnx._graph import UnsupportedOp
from cunn.onnx.emitters import register


@register("DropoutBackward")
def dropout(graph, op):
    raise UnsupportedOp("onnx.export: the model calls dropout with training=True, which "
                        "is random and has no ONNX inference form; pass "
                        "training=self.training (or use nn.Dropout) so that eval mode turns "
                        "it off")
