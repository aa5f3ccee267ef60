"""Embedding: a lookup table of num_embeddings rows of embedding_dim values."""
import numpy as np

from cunn import random
from cunn.nn import functional as F
from cunn.nn.modules._utils import check_int, is_int
from cunn.nn.modules.module import Module
from cunn.nn.parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``: weight
    (num_embeddings, embedding_dim) drawn from N(0, 1) as in PyTorch; the row padding_idx
    starts at zero and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = check_int(num_embeddings, "num_embeddings", "Embedding", 0)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", "Embedding", 0)
        if padding_idx is not None:
            if not is_int(padding_idx):
                raise TypeError(f"Embedding: padding_idx must be an int or None, got "
                                f"{padding_idx!r}")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({self.num_embeddings}), got {padding_idx}")
            padding_idx = int(padding_idx) % self.num_embeddings
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError("Embedding: max_norm, scale_grad_by_freq and sparse are not "
                             "supported")
        self.padding_idx = padding_idx
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            weight = random.generator().standard_normal(shape, dtype=np.float32)
            if padding_idx is not None:
                weight[padding_idx] = 0
        else:
            weight = np.array(getattr(_weight, "_data", _weight), dtype=np.float32)
            if weight.shape != shape:
                raise ValueError(f"Embedding: _weight must have shape {shape}, got "
                                 f"{weight.shape}")
        self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        array = np.asarray(getattr(embeddings, "_data", embeddings))
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{array.shape}")
        return cls(array.shape[0], array.shape[1], padding_idx=padding_idx, _weight=array,
                   _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None
                       else "")
