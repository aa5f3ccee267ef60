"""Embedding lookup and its gradient, reference: rows of the weight at the indices; the
gradient adds each index's row of grad_output in order (repeated indices accumulate), the
row padding_idx (when >= 0) staying zero."""
import numpy as np

from ._common import float_dtype

__all__ = ["embedding_forward", "embedding_backward"]


def _check_indices(op, indices, num_embeddings):
    indices = np.asarray(indices)
    if indices.dtype != np.int64:
        raise TypeError(f"{op}: indices must be int64, got {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        raise IndexError(f"{op}: indices must be in [0, {num_embeddings})")
    return indices


def embedding_forward(weight, indices):
    weight = np.asarray(weight, dtype=float_dtype(weight))
    indices = _check_indices("embedding_forward", indices, weight.shape[0])
    return weight[indices]


def embedding_backward(grad_output, indices, num_embeddings, padding_idx=-1):
    dtype = float_dtype(grad_output)
    grad_output = np.asarray(grad_output, dtype=dtype)
    indices = _check_indices("embedding_backward", indices, num_embeddings)
    dim = grad_output.shape[-1]
    grad_weight = np.zeros((num_embeddings, dim), dtype)
    np.add.at(grad_weight, indices.reshape(-1), grad_output.reshape(indices.size, dim))
    if padding_idx >= 0:
        grad_weight[padding_idx] = 0
    return grad_weight
