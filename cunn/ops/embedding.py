"""embedding on the backend's embedding kernels: the forward gathers weight rows, the
backward adds grad_output's rows into a zero weight gradient (repeated indices add up)."""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["embedding"]


class EmbeddingBackward(Function):
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        indices, num_embeddings, padding_idx = self.saved
        return (kernels_for(grad_output).embedding_backward(
            grad_output, indices, num_embeddings, padding_idx),)


def embedding(indices, weight, padding_idx):
    """``indices`` an int64 array, ``weight`` a (V, D) Tensor; padding_idx -1 for none."""
    data = weight._data
    out = kernels_for(data).embedding_forward(data, indices)
    return EmbeddingBackward.record(out, (weight,), indices, data.shape[0], padding_idx)
