"""One flat vector from many parameters and back (PyTorch's parameters_to_vector and
vector_to_parameters)."""
import numpy as np

from cunn._tensor import Tensor
from cunn.ops import shape

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _tensors(op, parameters):
    if isinstance(parameters, Tensor):
        raise TypeError(f"{op}: parameters must be an iterable of Tensors, got a single Tensor")
    tensors = list(parameters)
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{op}: parameters[{index}] must be a Tensor, "
                            f"got {type(tensor).__name__}")
    return tensors


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-D Tensor (differentiable)."""
    tensors = _tensors("parameters_to_vector", parameters)
    if not tensors:
        raise ValueError("parameters_to_vector: got no parameters")
    return shape.cat([tensor.reshape(-1) for tensor in tensors], 0)


def vector_to_parameters(vec, parameters):
    """Copies consecutive pieces of the 1-D ``vec`` into the parameters, in place."""
    op = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{op}: vec must be a Tensor, got {type(vec).__name__}")
    tensors = _tensors(op, parameters)
    values = vec._data
    if values.ndim != 1:
        raise ValueError(f"{op}: vec must be 1-D, got shape {tuple(values.shape)}")
    needed = sum(tensor._data.size for tensor in tensors)
    if values.size != needed:
        raise ValueError(f"{op}: vec has {values.size} elements, the parameters {needed}")
    offset = 0
    for tensor in tensors:
        size = tensor._data.size
        np.copyto(tensor._data, values[offset:offset + size].reshape(tensor._data.shape),
                  casting="same_kind")
        offset += size
