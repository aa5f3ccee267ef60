"""Embedding on the cuda backend: the runtime's gather (a bad index is found on the device
and raised here as IndexError, as the twin does) and its scatter-add gradient."""
import numpy as np

from cunn._backends.cuda._common import INT64, ErrorWord, device, empty

__all__ = ["embedding_forward", "embedding_backward"]


def _indices(op, indices):
    if getattr(indices, "dtype", None) is not None and indices.dtype != INT64:
        raise TypeError(f"{op}: indices must be int64, got {indices.dtype}")
    return device(op, indices, "indices", INT64)


def embedding_forward(weight, indices):
    weight = device("embedding_forward", weight, "weight")
    indices = _indices("embedding_forward", indices)
    num_embeddings, dim = weight.shape
    out = empty(indices.shape + (dim,))
    if out.size:
        error = ErrorWord()
        weight.runtime.embedding_forward(out.ptr, error.ptr, weight.ptr, indices.ptr,
                                         indices.size, num_embeddings, dim)
        if error.is_set():
            raise IndexError(f"embedding_forward: indices must be in [0, {num_embeddings})")
    return out


def embedding_backward(grad_output, indices, num_embeddings, padding_idx=-1):
    grad_output = device("embedding_backward", grad_output, "grad_output")
    indices = _indices("embedding_backward", indices)
    dim = grad_output.shape[-1]
    grad_weight = empty((num_embeddings, dim))
    if grad_weight.size:
        if indices.size:
            # The forward raised for bad indices; a direct call is checked here.
            bad = (indices < 0) | (indices >= num_embeddings)
            if np.any(bad).item():
                raise IndexError(f"embedding_backward: indices must be in [0, {num_embeddings})")
        grad_weight.runtime.embedding_backward(grad_weight.ptr, grad_output.ptr, indices.ptr,
                                               indices.size, num_embeddings, dim,
                                               int(padding_idx))
    return grad_weight
