"""Losses on the backend's fused loss kernels.

cross_entropy is one fused kernel (log-softmax + NLL) that keeps the log-probabilities
for its backward. The options (class weights, ignore_index, label smoothing,
probability targets, beta / delta, per-element weights) are handed to the kernels as
keyword arguments, only when given, and saved for the backward. The target's gradient,
where PyTorch has one, is composed here: for mse, l1, smooth_l1 and huber it is minus
the input's.
"""
import numpy as np

from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


def _refuse_target_grad(name, target):
    if target.requires_grad:
        raise ValueError(f"{name}: the gradient with respect to target is not supported; "
                         "detach() the target")


class CrossEntropyBackward(Function):
    __slots__ = ()
    checked_inputs = (1,)
    fresh_gradients = True  # the backend kernel's new arrays

    def backward(self, grad_output):
        log_probs, labels, reduction, options = self.saved
        return (kernels_for(log_probs).cross_entropy_backward(
            grad_output, log_probs, labels, reduction, **options), None)


def cross_entropy(logits, target, reduction, **options):
    """``target``: int64 labels (N,) or class probabilities (N, C); ``options``: weight
    (an array), ignore_index, label_smoothing, only those that differ from the default."""
    _refuse_target_grad("cross_entropy", target)
    loss, log_probs = kernels_for(logits._data).cross_entropy_forward(
        logits._data, target._data, reduction, **options)
    return CrossEntropyBackward.record(loss, (logits, target), log_probs, target._data,
                                       reduction, options)


class NllLossBackward(Function):
    __slots__ = ()
    checked_inputs = (1,)

    def backward(self, grad_output):
        labels, num_classes, reduction, options = self.saved
        return (kernels_for(grad_output).nll_loss_backward(
            grad_output, labels, num_classes, reduction, **options), None)


def nll_loss(log_probs, labels, reduction, **options):
    loss = kernels_for(log_probs._data).nll_loss_forward(
        log_probs._data, labels._data, reduction, **options)
    return NllLossBackward.record(loss, (log_probs, labels), labels._data,
                                  log_probs._data.shape[1], reduction, options)


class _PointwiseLossBackward(Function):
    __slots__ = ()
    kernel = None

    def backward(self, grad_output):
        input, target, reduction, options = self.saved
        grad_input = getattr(kernels_for(input), self.kernel)(
            grad_output, input, target, reduction, **options)
        grad_target = None
        if self.needs_input_grad[1]:
            grad_target = np.negative(grad_input)
        return grad_input if self.needs_input_grad[0] else None, grad_target


def _backward_class(kernel_name):
    return type(kernel_name.title().replace("_", "") + "Backward", (_PointwiseLossBackward,),
                {"__slots__": (), "kernel": kernel_name + "_backward"})


# Losses of (input - target) alone: the target's gradient is minus the input's.
_DIFFERENCE_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
_BACKWARD = {name: _backward_class(name) for name in (
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "binary_cross_entropy",
    "binary_cross_entropy_with_logits")}


def _pointwise(name, input, target, reduction, **options):
    if name not in _DIFFERENCE_LOSSES:
        _refuse_target_grad(name, target)
    loss = getattr(kernels_for(input._data), name + "_forward")(
        input._data, target._data, reduction, **options)
    return _BACKWARD[name].record(loss, (input, target), input._data, target._data, reduction,
                                  options)


def mse_loss(input, target, reduction):
    return _pointwise("mse_loss", input, target, reduction)


def l1_loss(input, target, reduction):
    return _pointwise("l1_loss", input, target, reduction)


def smooth_l1_loss(input, target, reduction, beta):
    return _pointwise("smooth_l1_loss", input, target, reduction, beta=beta)


def huber_loss(input, target, reduction, delta):
    return _pointwise("huber_loss", input, target, reduction, delta=delta)


def kl_div(input, target, reduction, log_target):
    return _pointwise("kl_div", input, target, reduction, log_target=log_target)


def binary_cross_entropy(input, target, reduction, weight=None):
    """``weight``: None or an array of the input's shape."""
    options = {} if weight is None else {"weight": weight}
    return _pointwise("binary_cross_entropy", input, target, reduction, **options)


def binary_cross_entropy_with_logits(input, target, reduction, weight=None, pos_weight=None):
    """``weight``, ``pos_weight``: None or arrays of the input's shape."""
    options = {key: value for key, value in (("weight", weight), ("pos_weight", pos_weight))
               if value is not None}
    return _pointwise("binary_cross_entropy_with_logits", input, target, reduction, **options)
