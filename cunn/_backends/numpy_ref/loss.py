"""Losses and their input gradients, reference (PyTorch's definitions).

cross_entropy = nll(log_softmax(logits)); mean divides by the batch size.
With options (per-class weight, ignore_index, label_smoothing, class-probability
targets) row i's loss is -sum_c v_ic log_probs_ic with the coefficients of
csrc/kernels/loss.h (computed in float64, rounded once), and mean divides by the
summed weights of the rows not ignored (the batch for probability targets).
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
    "smooth_l1_loss_forward", "smooth_l1_loss_backward", "huber_loss_forward",
    "huber_loss_backward", "kl_div_forward", "kl_div_backward",
]


def _check_2d(op, array, name):
    if array.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D (batch, classes), got shape {array.shape}")


class _ClassOptions:
    """The checked class-loss options; ``used`` is False for the plain loss."""

    def __init__(self, op, target, weight, ignore_index, label_smoothing, batch, classes,
                 allow_probs):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.weight = None
        if weight is not None:
            weight = np.asarray(weight)
            if weight.dtype.kind != "f":
                raise TypeError(f"{op}: weight must be float32, got {weight.dtype}")
            if weight.shape != (classes,):
                raise ValueError(f"{op}: weight must have shape ({classes},), "
                                 f"got {weight.shape}")
            self.weight = weight.astype(np.float64)
        self.smoothing = float(label_smoothing)
        self.ignore_index = int(ignore_index)
        target = np.asarray(target)
        self.probs = None
        self.labels = None
        if allow_probs and target.dtype.kind == "f":
            if target.shape != (batch, classes):
                raise ValueError(f"{op}: target probabilities must have shape "
                                 f"({batch}, {classes}), got {target.shape}")
            self.probs = target.astype(np.float64)
            self.kept = np.ones(batch, bool)
            self.used = True
        else:
            if target.dtype != np.int64:
                raise TypeError(f"{op}: labels must be int64, got {target.dtype}")
            self.kept = target != self.ignore_index
            check_labels(op, np.where(self.kept, target, 0), classes, batch)
            self.labels = target
            self.used = (not self.kept.all() or self.weight is not None
                         or self.smoothing != 0.0)
        self.classes = classes

    def coefficients(self):
        """v (batch, classes) in float64: zero rows for ignored labels."""
        classes = self.classes
        weight = np.ones(classes) if self.weight is None else self.weight
        spread = self.smoothing / classes
        if self.probs is not None:
            return ((1.0 - self.smoothing) * self.probs + spread) * weight
        batch = self.labels.shape[0]
        v = np.broadcast_to(spread * weight, (batch, classes)).copy()
        rows = np.flatnonzero(self.kept)
        v[rows, self.labels[rows]] += (1.0 - self.smoothing) * weight[self.labels[rows]]
        v[~self.kept] = 0.0
        return v

    def divisor(self):
        if self.probs is not None:
            return float(self.kept.size)
        labels = self.labels[self.kept]
        return float(labels.size if self.weight is None else self.weight[labels].sum())


def _class_loss_forward(log_probs, options, reduction, dtype):
    v = options.coefficients()
    # Skipping the zero coefficients, as the compiled loop does (0 * -inf is not NaN).
    with np.errstate(invalid="ignore"):
        products = np.where(v != 0, v * log_probs.astype(np.float64), 0.0)
    rows = (-products.sum(axis=1)).astype(dtype)
    if reduction == "none":
        return rows
    total = rows.sum(dtype=np.float64)
    if reduction == "mean":
        divisor = options.divisor()
        total = total / divisor if divisor else np.nan
    return np.asarray(total, dtype=dtype)


def _class_grad_scale(grad_output, options, reduction, dtype):
    grad_output = np.asarray(grad_output, dtype=dtype)
    if reduction == "none":
        return grad_output[:, None]
    if reduction == "mean":
        divisor = options.divisor()
        return dtype(float(grad_output) / divisor if divisor else np.nan)
    return grad_output


def nll_loss_forward(log_probs, labels, reduction, weight=None, ignore_index=-100):
    check_reduction("nll_loss", reduction)
    dtype = float_dtype(log_probs)
    log_probs = np.asarray(log_probs, dtype=dtype)
    _check_2d("nll_loss", log_probs, "log_probs")
    options = _ClassOptions("nll_loss", labels, weight, ignore_index, 0.0, *log_probs.shape,
                            allow_probs=False)
    if options.used:
        return _class_loss_forward(log_probs, options, reduction, dtype)
    picked = -log_probs[np.arange(log_probs.shape[0]), options.labels]
    return reduce_loss(picked, reduction, dtype)


def nll_loss_backward(grad_output, labels, num_classes, reduction, weight=None,
                      ignore_index=-100):
    check_reduction("nll_loss", reduction)
    dtype = float_dtype(grad_output)
    labels = np.asarray(labels)
    batch = labels.shape[0] if labels.ndim == 1 else -1
    options = _ClassOptions("nll_loss", labels, weight, ignore_index, 0.0, batch, num_classes,
                            allow_probs=False)
    if options.used:
        scale = _class_grad_scale(grad_output, options, reduction, dtype)
        grad = (-scale * options.coefficients().astype(dtype)).astype(dtype, copy=False)
        grad[~options.kept] = 0  # even when the mean's scale is NaN (every row ignored)
        return grad
    scale = loss_grad_scale(grad_output, reduction, batch, dtype)
    grad = np.zeros((batch, num_classes), dtype=dtype)
    grad[np.arange(batch), labels] = -scale
    return grad


def cross_entropy_forward(logits, labels, reduction, weight=None, ignore_index=-100,
                          label_smoothing=0.0):
    check_reduction("cross_entropy", reduction)
    dtype = float_dtype(logits)
    logits = np.asarray(logits, dtype=dtype)
    _check_2d("cross_entropy", logits, "logits")
    options = _ClassOptions("cross_entropy", labels, weight, ignore_index, label_smoothing,
                            *logits.shape, allow_probs=True)
    log_probs = log_softmax_forward(logits, 1)
    if options.used:
        return _class_loss_forward(log_probs, options, reduction, dtype), log_probs
    return nll_loss_forward(log_probs, labels, reduction), log_probs


def cross_entropy_backward(grad_output, log_probs, labels, reduction, weight=None,
                           ignore_index=-100, label_smoothing=0.0):
    check_reduction("cross_entropy", reduction)
    dtype = float_dtype(grad_output, log_probs)
    log_probs = np.asarray(log_probs, dtype=dtype)
    batch, classes = log_probs.shape
    options = _ClassOptions("cross_entropy", labels, weight, ignore_index, label_smoothing,
                            batch, classes, allow_probs=True)
    if options.used:
        scale = _class_grad_scale(grad_output, options, reduction, dtype)
        v = options.coefficients()
        totals = v.sum(axis=1).astype(dtype)[:, None]
        grad = scale * (np.exp(log_probs) * totals - v.astype(dtype))
        grad[~options.kept] = 0
        return grad.astype(dtype, copy=False)
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


def _elementwise(op, name, value, shape, dtype):
    """An optional per-element option: None, or an array of the input's shape."""
    if value is None:
        return None
    value = np.asarray(value)
    if value.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be float32, got {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {shape}, got {value.shape}")
    return value.astype(dtype, copy=False)


def _weighted(values, weight):
    return values if weight is None else values * weight


def binary_cross_entropy_forward(input, target, reduction, weight=None):
    check_reduction("binary_cross_entropy", reduction)
    input, target, dtype = _pair("binary_cross_entropy", input, target)
    weight = _elementwise("binary_cross_entropy", "weight", weight, input.shape, dtype)
    if input.size and (np.nanmin(input) < 0 or np.nanmax(input) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(input), -100)
        log_not_p = np.maximum(np.log1p(-input), -100)
    losses = -(target * log_p + (1 - target) * log_not_p)
    return reduce_loss(_weighted(losses, weight), reduction, dtype)


def binary_cross_entropy_backward(grad_output, input, target, reduction, weight=None):
    input, target, dtype = _pair("binary_cross_entropy", input, target)
    weight = _elementwise("binary_cross_entropy", "weight", weight, input.shape, dtype)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    denominator = np.maximum(input * (1 - input), dtype(1e-12))
    return _weighted((input - target) / denominator * scale, weight).astype(dtype, copy=False)


def _logit_options(input, weight, pos_weight, dtype):
    op = "binary_cross_entropy_with_logits"
    return (_elementwise(op, "weight", weight, input.shape, dtype),
            _elementwise(op, "pos_weight", pos_weight, input.shape, dtype))


def binary_cross_entropy_with_logits_forward(input, target, reduction, weight=None,
                                             pos_weight=None):
    check_reduction("binary_cross_entropy_with_logits", reduction)
    input, target, dtype = _pair("binary_cross_entropy_with_logits", input, target)
    weight, pos_weight = _logit_options(input, weight, pos_weight, dtype)
    if pos_weight is None:
        losses = np.maximum(input, 0) - input * target + np.log1p(np.exp(-np.abs(input)))
    else:
        log_weight = (pos_weight - 1) * target + 1
        losses = (1 - target) * input + log_weight * (np.log1p(np.exp(-np.abs(input)))
                                                      + np.maximum(-input, 0))
    return reduce_loss(_weighted(losses, weight), reduction, dtype)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, reduction,
                                              weight=None, pos_weight=None):
    input, target, dtype = _pair("binary_cross_entropy_with_logits", input, target)
    weight, pos_weight = _logit_options(input, weight, pos_weight, dtype)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    if pos_weight is None:
        grad = sigmoid_forward(input) - target
    else:
        log_weight = (pos_weight - 1) * target + 1
        grad = log_weight * sigmoid_forward(input) - pos_weight * target
    return _weighted(scale * grad, weight).astype(dtype, copy=False)


def smooth_l1_loss_forward(input, target, reduction, beta=1.0):
    check_reduction("smooth_l1_loss", reduction)
    input, target, dtype = _pair("smooth_l1_loss", input, target)
    beta = dtype(beta)
    z = np.abs(input - target)
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = np.where(z < beta, dtype(0.5) * z * z / beta, z - dtype(0.5) * beta)
    return reduce_loss(losses, reduction, dtype)


def smooth_l1_loss_backward(grad_output, input, target, reduction, beta=1.0):
    input, target, dtype = _pair("smooth_l1_loss", input, target)
    beta = dtype(beta)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    d = input - target
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = np.where(d <= -beta, dtype(-1), np.where(d >= beta, dtype(1), d / beta))
    return (scale * grad).astype(dtype, copy=False)


def huber_loss_forward(input, target, reduction, delta=1.0):
    check_reduction("huber_loss", reduction)
    input, target, dtype = _pair("huber_loss", input, target)
    delta = dtype(delta)
    z = np.abs(input - target)
    losses = np.where(z < delta, dtype(0.5) * z * z, delta * (z - dtype(0.5) * delta))
    return reduce_loss(losses, reduction, dtype)


def huber_loss_backward(grad_output, input, target, reduction, delta=1.0):
    input, target, dtype = _pair("huber_loss", input, target)
    delta = dtype(delta)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    d = input - target
    grad = np.where(d <= -delta, -delta, np.where(d >= delta, delta, d))
    return (scale * grad).astype(dtype, copy=False)


def kl_div_forward(input, target, reduction, log_target=False):
    check_reduction("kl_div", reduction)
    input, target, dtype = _pair("kl_div", input, target)
    if log_target:
        losses = np.exp(target) * (target - input)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            # xlogy(t, t): 0 where t == 0.
            t_log_t = np.where(target == 0, dtype(0), target * np.log(target))
        losses = t_log_t - target * input
    return reduce_loss(losses, reduction, dtype)


def kl_div_backward(grad_output, input, target, reduction, log_target=False):
    input, target, dtype = _pair("kl_div", input, target)
    scale = loss_grad_scale(grad_output, reduction, input.size, dtype)
    grad = -np.exp(target) if log_target else -target
    return (scale * grad).astype(dtype, copy=False)
