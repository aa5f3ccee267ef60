"""Small helpers the emitters share."""
import numpy as np

__all__ = ["int64s", "operand"]


def int64s(graph, values, hint="shape"):
    """A constant int64 vector (the form ONNX takes shapes and axes in)."""
    return graph.constant(np.asarray(values, dtype=np.int64), hint)


def operand(graph, tensor, dtype):
    """``tensor`` as an ONNX value of ``dtype``: constants are converted in place, traced
    values get a Cast (PyTorch's promotion happened in the op; ONNX needs it spelled)."""
    name = graph.value_names.get(id(tensor))
    if tensor._data.dtype == dtype:
        return graph.value(tensor)
    if name is None:
        return graph.constant(np.asarray(tensor._data, dtype=dtype))
    onnx_type = graph.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return graph.node("Cast", [name], to=onnx_type)
