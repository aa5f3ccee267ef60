"""Losses on the backend's fused loss kernels.

cross_entropy is one fused kernel (log-softmax + NLL) that keeps the log-probabilities
for its backward. The target's gradient, where PyTorch has one, is composed here:
for mse and l1 it is minus the input's.
"""
import numpy as np

from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


class CrossEntropyBackward(Function):
    __slots__ = ()
    checked_inputs = (1,)
    fresh_gradients = True  # the backend kernel's new arrays

    def backward(self, grad_output):
        log_probs, labels, reduction = self.saved
        return (kernels_for(log_probs.dtype).cross_entropy_backward(
            grad_output, log_probs, labels, reduction), None)


def cross_entropy(logits, labels, reduction):
    loss, log_probs = kernels_for(logits._data.dtype).cross_entropy_forward(
        logits._data, labels._data, reduction)
    return CrossEntropyBackward.record(loss, (logits, labels), log_probs, labels._data, reduction)


class NllLossBackward(Function):
    __slots__ = ()
    checked_inputs = (1,)

    def backward(self, grad_output):
        labels, num_classes, reduction = self.saved
        return (kernels_for(grad_output.dtype).nll_loss_backward(
            grad_output, labels, num_classes, reduction), None)


def nll_loss(log_probs, labels, reduction):
    loss = kernels_for(log_probs._data.dtype).nll_loss_forward(
        log_probs._data, labels._data, reduction)
    return NllLossBackward.record(loss, (log_probs, labels), labels._data,
                                  log_probs._data.shape[1], reduction)


class _PointwiseLossBackward(Function):
    __slots__ = ()
    kernel = None

    def backward(self, grad_output):
        input, target, reduction = self.saved
        grad_input = getattr(kernels_for(input.dtype), self.kernel)(
            grad_output, input, target, reduction)
        grad_target = None
        if self.needs_input_grad[1]:
            grad_target = np.negative(grad_input)
        return grad_input if self.needs_input_grad[0] else None, grad_target


class MseLossBackward(_PointwiseLossBackward):
    __slots__ = ()
    kernel = "mse_loss_backward"


class L1LossBackward(_PointwiseLossBackward):
    __slots__ = ()
    kernel = "l1_loss_backward"


class BinaryCrossEntropyBackward(_PointwiseLossBackward):
    __slots__ = ()
    kernel = "binary_cross_entropy_backward"


class BinaryCrossEntropyWithLogitsBackward(_PointwiseLossBackward):
    __slots__ = ()
    kernel = "binary_cross_entropy_with_logits_backward"


def _pointwise(name, function, input, target, reduction):
    if target.requires_grad and function not in (MseLossBackward, L1LossBackward):
        raise ValueError(f"{name}: the gradient with respect to target is not supported; "
                         "detach() the target")
    loss = getattr(kernels_for(input._data.dtype), name + "_forward")(
        input._data, target._data, reduction)
    return function.record(loss, (input, target), input._data, target._data, reduction)


def mse_loss(input, target, reduction):
    return _pointwise("mse_loss", MseLossBackward, input, target, reduction)


def l1_loss(input, target, reduction):
    return _pointwise("l1_loss", L1LossBackward, input, target, reduction)


def binary_cross_entropy(input, target, reduction):
    return _pointwise("binary_cross_entropy", BinaryCrossEntropyBackward, input, target,
                      reduction)


def binary_cross_entropy_with_logits(input, target, reduction):
    return _pointwise("binary_cross_entropy_with_logits", BinaryCrossEntropyWithLogitsBackward,
                      input, target, reduction)
