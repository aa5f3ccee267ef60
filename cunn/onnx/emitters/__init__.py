"""ONNX emitters, one module per cunn/ops family (the same stems), each registering its
functions by the name of the Function class the op records:

    @register("Conv2dBackward")
    def conv2d(graph, op):          # op: cunn.onnx._trace.Op
        return graph.node("Conv", [...], strides=[...])

An emitter returns the value name of ``op.result``. A new op gets its emitter in the
module named like its ops/ file (and that module in FAMILIES)."""
import importlib

__all__ = ["register", "emitter_for"]

FAMILIES = ("activation", "avg_pool", "cast", "conv2d", "dropout", "elementwise", "linalg",
            "linear_chain", "normalization", "pool", "reduce", "shape", "smooth_activation",
            "softmax")

_EMITTERS = {}
_loaded = False


def register(*function_names):
    def decorate(emit):
        for name in function_names:
            _EMITTERS[name] = emit
        return emit
    return decorate


def emitter_for(function_class):
    """The emitter for ops recorded with ``function_class``, or None."""
    global _loaded
    if not _loaded:
        for family in FAMILIES:
            importlib.import_module(f"cunn.onnx.emitters.{family}")
        _loaded = True
    return _EMITTERS.get(function_class.__name__)
