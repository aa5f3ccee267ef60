"""embedding kernels (float32 weight, int64 indices), over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["embedding_forward", "embedding_backward"]


def embedding_forward(weight, indices):
    return _C.embedding_forward(np.ascontiguousarray(weight), np.asarray(indices, order="C"))


def embedding_backward(grad_output, indices, num_embeddings, padding_idx=-1):
    return _C.embedding_backward(np.asarray(grad_output, order="C"),
                                 np.asarray(indices, order="C"), num_embeddings, padding_idx)
