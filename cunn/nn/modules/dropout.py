"""Dropout: zeroes each element with probability p while training, scaling the rest by
1/(1-p); the identity in eval mode."""
from cunn.nn import functional as F
from cunn.nn.modules._utils import check_bool, check_number
from cunn.nn.modules.module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """``Dropout(p=0.5)``; ``inplace=True`` is accepted and computes out of place."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        check_number(p, "p", "Dropout")
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: dropout probability p has to be between 0 and 1, but "
                             f"got {p}")
        self.p = p
        self.inplace = check_bool(inplace, "inplace", "Dropout")

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """``Dropout2d(p=0.5)``: zeroes whole channels of (N, C, H, W) inputs while training;
    ``inplace=True`` is accepted and computes out of place."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        check_number(p, "p", "Dropout2d")
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout2d: dropout probability p has to be between 0 and 1, but "
                             f"got {p}")
        self.p = p
        self.inplace = check_bool(inplace, "inplace", "Dropout2d")

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
