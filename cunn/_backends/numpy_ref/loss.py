"""Losses and their input gradients, reference (PyTorch's definitions).

cross_entropy = nll(log_softmax(logits)); mean divides by the batch size.
binary_cross_entropy clamps each log at -100 and its gradient's denominator at 1e-12,
as PyTorch does; the with-logits form is max(x, 0) - x t + log1p(exp(-|x|)).
"""
import numpy as np

from ._common import (check_labels, check_reduction, float_dtype, loss_grad_scale,
                      reduce_loss)
from .activation import sigmoid_forward
from .softmax import log_softmax_forward

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "mse_loss_forward", "mse_loss_backward", "l1_loss_forward", "l1_loss_backward",
    "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_forward", "binary_cross_entropy_with_logits_backward",
]


def _check_2d(op, array, name):
    if array.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D (batch, classes), got shape {array.shape}")


def nll_loss_forward(log_probs, labels, reduction):
    check_reduction("nll_loss", reduction)
    dtype = float_dtype(log_probs)
    log_probs = np.asarray(log_probs, dtype=dtype)
    _check_2d("nll_loss", log_probs, "log_probs")
    labels = check_labels("nll_loss", labels, log_probs.shape[1], log_probs.shape[0])
    picked = -log_probs[np.arange(log_probs.shape[0]), labels]
    return reduce_loss(picked, reduction, dtype)


def nll_loss_backward(grad_output, labels, num_classes, reduction):
    check_reduction("nll_loss", reduction)
    dtype = float_dtype(grad_output)
    labels = np.asarray(labels)
    batch = labels.shape[0] if labels.ndim == 1 else -1
    labels = check_labels("nll_loss", labels, num_classes, batch)
    scale = loss_grad_scale(grad_output, reduction, batch, dtype)
    grad = np.zeros((batch, num_classes), dtype=dtype)
    grad[np.arange(batch), labels] = -scale
    return grad


def cross_entropy_forward(logits, labels, reduction):
    check_reduction("cross_entropy", reduction)
    logits = np.asarray(logits, dtype=float_dtype(logits))
    _check_2d("cross_entropy", logits, "logits")
    check_labels("cross_entropy", labels, logits.shape[1], logits.shape[0])
    log_probs = log_softmax_forward(logits, 1)
    return nll_loss_forward(log_probs, labels, reduction), log_probs


def cross_entropy_backward(grad_output, log_probs, labels, reduction):
    check_reduction("cross_entropy", reduction)
    dtype = float_dtype(grad_output, log_probs)
    log_probs = np.asarray(log_probs, dtype=dtype)
    batch, classes = log_probs.shape
    labels = check_labels("cross_entropy", labels, classes, batch)
    scale = loss_grad_scale(grad_output, reduction, batch, dtype)
    grad = np.exp(log_probs)
    grad[np.arange(batch), labels] -= 1
    return grad * (scale[:, None] if np.ndim(scale) == 1 else scale)


def _pair(op, input, target):
    dtype = float_dtype(input, target)
    input = np.asarray(input, dtype=dtype)
    target = np.asarray(target, dtype=dtype)
    if input.shape != target.shape:
        raise ValueError(f"{op}: input and target must have the same shape, got {input.shape} "
                         f"and {target.shape}")
    return input, target, dtype


def mse_loss_forward(input, target, reduction):
    check_reduction("mse_loss", reduction)
    input, target, dtype = _pair("mse_loss", input, target)
    return reduce_loss((input - target) ** 2, reduction, dtype)


def mse_loss_backward(grad_output, input, target, reduction):
    input, target, dtype = _pair("mse_loss", input, target)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    return (2 * (input - target) * scale).astype(dtype, copy=False)


def l1_loss_forward(input, target, reduction):
    check_reduction("l1_loss", reduction)
    input, target, dtype = _pair("l1_loss", input, target)
    return reduce_loss(np.abs(input - target), reduction, dtype)


def l1_loss_backward(grad_output, input, target, reduction):
    input, target, dtype = _pair("l1_loss", input, target)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    return (np.sign(input - target) * scale).astype(dtype, copy=False)


def binary_cross_entropy_forward(input, target, reduction):
    check_reduction("binary_cross_entropy", reduction)
    input, target, dtype = _pair("binary_cross_entropy", input, target)
    if input.size and (np.nanmin(input) < 0 or np.nanmax(input) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(input), -100)
        log_not_p = np.maximum(np.log1p(-input), -100)
    return reduce_loss(-(target * log_p + (1 - target) * log_not_p), reduction, dtype)


def binary_cross_entropy_backward(grad_output, input, target, reduction):
    input, target, dtype = _pair("binary_cross_entropy", input, target)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    denominator = np.maximum(input * (1 - input), dtype(1e-12))
    return ((input - target) / denominator * scale).astype(dtype, copy=False)


def binary_cross_entropy_with_logits_forward(input, target, reduction):
    check_reduction("binary_cross_entropy_with_logits", reduction)
    input, target, dtype = _pair("binary_cross_entropy_with_logits", input, target)
    losses = np.maximum(input, 0) - input * target + np.log1p(np.exp(-np.abs(input)))
    return reduce_loss(losses, reduction, dtype)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, reduction):
    input, target, dtype = _pair("binary_cross_entropy_with_logits", input, target)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    return ((sigmoid_forward(input) - target) * scale).astype(dtype, copy=False)
