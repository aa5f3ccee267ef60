"""cunn.onnx.export: a cunn model as an ONNX file that ONNX Runtime (or any ONNX
consumer) runs to the same outputs.

How it works: export runs one forward pass in eval mode with a tracer set on
cunn.autograd.function (every op reports its Function class, result, inputs and saved
values there, see _trace.py); each op then becomes ONNX nodes through the emitter
registered for its Function class (emitters/<family>.py, one file per cunn/ops family).
The ``onnx`` package (the ``onnx`` extra) is imported only when a model is exported.
"""
from cunn.onnx._export import export

__all__ = ["export"]
