"""BatchNorm1d, BatchNorm2d and LayerNorm.

Batch norm keeps the buffers ``running_mean``, ``running_var`` and ``num_batches_tracked``
(PyTorch's names, so state dicts interchange). In training it normalises with the batch's
statistics and updates the running ones (momentum, or a cumulative average when
``momentum=None``); in eval it uses the running ones, unless ``track_running_stats=False``
(then it has no buffers and always uses the batch's).
"""
import numpy as np

from cunn._tensor import Tensor
from cunn.nn import functional as F
from cunn.nn.modules._utils import check_bool, check_int, check_number, is_int
from cunn.nn.modules.module import Module
from cunn.nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    _input_dims = ()  # the input ranks the subclass accepts
    _input_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(num_features, "num_features", name)
        self.eps = check_number(eps, "eps", name)
        if momentum is not None:
            check_number(momentum, "momentum", name)
        self.momentum = momentum
        self.affine = check_bool(affine, "affine", name)
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats", name)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, np.float32))
            self.bias = Parameter(np.zeros(self.num_features, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            self.bias._data[...] = 0

    def forward(self, input):
        return F.batch_norm(input, *self._batch_norm_arguments(input))

    def _batch_norm_arguments(self, input):
        """F.batch_norm's arguments after input: checks the input's rank and, in training
        with running statistics, counts the batch (PyTorch's order of events)."""
        shape = tuple(getattr(input, "shape", ()))
        if len(shape) not in self._input_dims:
            raise ValueError(f"{self._layer_text()}: expected {self._input_text} input, got a "
                             f"{len(shape)}-D input of shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(f"{self._layer_text()}: expected {self.num_features} channels in "
                             f"dim 1, got input of shape {shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked._data)
        # Batch statistics in training, and always without running ones.
        use_batch = self.training or not self.track_running_stats
        return (self.running_mean, self.running_var, self.weight, self.bias, use_batch,
                momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)`` over (N, C) or (N, C, L)."""
    _input_dims = (2, 3)
    _input_text = "a 2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)`` over (N, C, H, W)."""
    _input_dims = (4,)
    _input_text = "a 4-D (N, C, H, W)"


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``:
    normalises over the trailing ``normalized_shape`` dims of each sample."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if is_int(normalized_shape):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (tuple, list)) or not all(
                is_int(size) for size in normalized_shape):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a sequence of ints, "
                            f"got {normalized_shape!r}")
        self.normalized_shape = tuple(check_int(size, "normalized_shape", "LayerNorm", 0)
                                      for size in normalized_shape)
        self.eps = check_number(eps, "eps", "LayerNorm")
        self.elementwise_affine = check_bool(elementwise_affine, "elementwise_affine",
                                             "LayerNorm")
        check_bool(bias, "bias", "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, np.float32))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, np.float32))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
