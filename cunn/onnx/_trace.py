"""The trace of one forward pass: every op the model ran, in order, with the tensors it
read and made. No onnx here: emitters turn the trace into a graph."""
import numpy as np

from cunn.autograd import function

__all__ = ["Op", "trace"]


class Op:
    """One op of the trace: its Function class, result Tensor, input Tensors (some None)
    and the values the op saved for its backward (its attributes come from there)."""
    __slots__ = ("function", "result", "inputs", "saved", "snapshot")

    def __init__(self, function_class, result, inputs, saved):
        self.function = function_class
        self.result = result
        self.inputs = inputs
        self.saved = saved
        # What the result held when made: an in-place change afterwards (x += 1) runs no
        # op, so the graph would miss it; export compares and refuses.
        self.snapshot = result._data.copy()

    def changed_in_place(self):
        return not np.array_equal(self.result._data, self.snapshot, equal_nan=True)

    @property
    def name(self):
        """The op's name for messages: the Function class without "Backward"."""
        name = self.function.__name__
        return name[:-len("Backward")] if name.endswith("Backward") else name


def trace(run):
    """(result of ``run()``, list of Op) for the ops ``run`` performs."""
    if function.tracer is not None:
        raise RuntimeError("onnx.export: a trace is already running (export is not reentrant)")
    ops = []

    def record(function_class, result, inputs, saved):
        ops.append(Op(function_class, result, tuple(inputs), saved))

    function.tracer = record
    try:
        output = run()
    finally:
        function.tracer = None
    return output, ops
