"""Losses on the cuda backend, composed from the runtime's loss kernels and the
elementwise and reduce kernels, with the twin's formulas (numpy_ref/loss.py).

Class losses: row i's loss is -sum_c v_ic log_probs_ic. For labels l, v = (1 - e) w_l at
column l plus e/C * w_c everywhere (e the label smoothing, w the class weights or ones),
zero rows for ignored labels; nll_forward gives the first part and each row's weight w_l,
whose sum divides the mean. For class-probability targets t, v = ((1 - e) t + e/C) w and
the mean divides by the batch. The logits' gradient is s_i (p_ic sum_c v_ic - v_ic) with
p = exp(log_probs) and s_i the upstream gradient (divided by the mean's divisor).

Pointwise losses: the runtime's per-element loss and gradient, reduced here. A label or
index out of range is found on the device (an error word) and raised as the twin does.
"""
import math

import numpy as np

from cunn._backends.cuda._common import (FLOAT32, INT64, ErrorWord, check_reduction, device,
                                         empty, optional, reduce_loss, ufunc)
from cunn._backends.cuda.array import DeviceArray
from cunn._backends.cuda.softmax import log_softmax_forward

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward",
    "nll_loss_forward", "nll_loss_backward",
    "mse_loss_forward", "mse_loss_backward",
    "l1_loss_forward", "l1_loss_backward",
    "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_forward", "binary_cross_entropy_with_logits_backward",
    "smooth_l1_loss_forward", "smooth_l1_loss_backward", "huber_loss_forward",
    "huber_loss_backward", "kl_div_forward", "kl_div_backward",
]


# ---- class losses ----

class _Classes:
    """The checked arguments of a class loss over (batch, classes)."""

    def __init__(self, op, target, weight, ignore_index, label_smoothing, batch, classes,
                 allow_probs):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.op, self.batch, self.classes = op, batch, classes
        self.smoothing = float(label_smoothing)
        self.ignore_index = int(ignore_index)
        self.weight = None
        if weight is not None:
            if isinstance(weight, DeviceArray) and weight.dtype.kind != "f":
                raise TypeError(f"{op}: weight must be float32, got {weight.dtype}")
            self.weight = device(op, weight, "weight")
            if self.weight.shape != (classes,):
                raise ValueError(f"{op}: weight must have shape ({classes},), got "
                                 f"{self.weight.shape}")
        if not isinstance(target, DeviceArray):
            device(op, target, "target", INT64)  # raises the mixed-device error
        self.probs = self.labels = None
        if allow_probs and target.dtype.kind == "f":
            if target.shape != (batch, classes):
                raise ValueError(f"{op}: target probabilities must have shape "
                                 f"({batch}, {classes}), got {target.shape}")
            self.probs = device(op, target, "target")
        else:
            if target.dtype != INT64:
                raise TypeError(f"{op}: labels must be int64, got {target.dtype}")
            if target.shape != (batch,):
                raise ValueError(f"{op}: labels must have shape ({batch},), got {target.shape}")
            self.labels = target.contiguous()

    def nll(self, log_probs, check=True):
        """(losses (N,) = -w_l log_probs[i, l], weights (N,) = w_l), both 0 where ignored;
        with ``check``, a label out of range raises ValueError, as the twin's check does
        (reading the error word back waits for the device: the backward, whose forward
        checked, does not)."""
        losses, weights = empty((self.batch,)), empty((self.batch,))
        if self.batch:
            error = ErrorWord()
            log_probs.runtime.nll_forward(losses.ptr, weights.ptr, error.ptr, log_probs.ptr,
                                          self.labels.ptr, _pointer(self.weight), self.batch,
                                          self.classes, self.ignore_index)
            if check and error.is_set():
                self._raise_bad_label()
        return losses, weights

    def _raise_bad_label(self):
        labels = self.labels.get()
        bad = labels[(labels != self.ignore_index) & ((labels < 0) | (labels >= self.classes))]
        raise ValueError(f"{self.op}: labels must be in [0, {self.classes}), got {bad[0]}")

    def kept(self):
        """1.0 for rows whose label is not ignore_index, else 0.0 (N,)."""
        return ufunc(np.not_equal, self.labels, self.ignore_index).astype(FLOAT32)

    def spread(self):
        return self.smoothing / self.classes

    def weights_row(self):
        """w as a (1, C) row, or the number 1."""
        return 1.0 if self.weight is None else self.weight.reshape(1, self.classes)

    def prob_coefficients(self):
        v = ufunc(np.add, ufunc(np.multiply, self.probs, 1.0 - self.smoothing), self.spread())
        return ufunc(np.multiply, v, self.weights_row())


def _pointer(array):
    return 0 if array is None else array.ptr


def _row_losses(v, log_probs):
    """-sum_c v_ic log_probs_ic, the zero coefficients skipped (0 * -inf is not NaN)."""
    products = np.where(ufunc(np.not_equal, v, 0), ufunc(np.multiply, v, log_probs), 0.0)
    return ufunc(np.negative, np.sum(products, axis=1))


def _class_forward(options, log_probs, reduction):
    """(the loss, the mean's divisor as a device 0-d array or a number)."""
    if options.probs is not None:
        rows = _row_losses(options.prob_coefficients(), log_probs)
        divisor = options.batch
    else:
        rows, weights = options.nll(log_probs)
        if options.smoothing:
            smooth = np.sum(ufunc(np.multiply, log_probs, options.weights_row()), axis=1)
            smooth = ufunc(np.multiply, ufunc(np.multiply, smooth, -options.spread()),
                           options.kept())
            rows = ufunc(np.add, ufunc(np.multiply, rows, 1.0 - options.smoothing), smooth)
        divisor = np.sum(weights)
    if reduction == "none":
        return rows
    total = np.sum(rows)
    if reduction == "sum":
        return total
    if isinstance(divisor, int):
        return ufunc(np.multiply, total, 1.0 / divisor if divisor else math.nan)
    return ufunc(np.true_divide, total, divisor)


def _scale(grad_output, reduction, divisor):
    """s: the upstream gradient per row, (N, 1) for "none", else 0-d."""
    if reduction == "none":
        return grad_output.reshape(-1, 1)
    if reduction == "sum":
        return grad_output
    if isinstance(divisor, int):
        return ufunc(np.multiply, grad_output, 1.0 / divisor if divisor else math.nan)
    return ufunc(np.true_divide, grad_output, divisor)


def _label_weights(options):
    """Each row's w_l (0 where ignored): whether the label is kept, or with class weights
    nll_forward's weights on zero log-probabilities."""
    if options.weight is None:
        return options.kept()
    zeros = empty((options.batch, options.classes))
    zeros.fill(0)
    return options.nll(zeros, check=False)[1]


def nll_loss_forward(log_probs, labels, reduction, weight=None, ignore_index=-100):
    check_reduction("nll_loss", reduction)
    log_probs = device("nll_loss", log_probs, "log_probs")
    if log_probs.ndim != 2:
        raise ValueError(f"nll_loss: log_probs must be 2-D (batch, classes), got shape "
                         f"{log_probs.shape}")
    options = _Classes("nll_loss", labels, weight, ignore_index, 0.0, *log_probs.shape, False)
    return _class_forward(options, log_probs, reduction)


def _nll_grad(options, grad_output, reduction, divisor):
    """-w_l s_i at column l of each kept row, zero elsewhere."""
    grad = empty((options.batch, options.classes))
    if grad.size:
        grad.runtime.nll_backward(grad.ptr, grad_output.ptr, 1 if reduction == "none" else 0,
                                  _pointer(divisor if reduction == "mean" else None),
                                  options.labels.ptr, _pointer(options.weight), options.batch,
                                  options.classes, options.ignore_index)
    return grad


def nll_loss_backward(grad_output, labels, num_classes, reduction, weight=None,
                      ignore_index=-100):
    check_reduction("nll_loss", reduction)
    grad_output = device("nll_loss", grad_output, "grad_output")
    batch = labels.shape[0] if labels.ndim == 1 else -1
    options = _Classes("nll_loss", labels, weight, ignore_index, 0.0, batch, num_classes, False)
    divisor = np.sum(_label_weights(options)) if reduction == "mean" and batch else None
    return _nll_grad(options, grad_output, reduction, divisor)


def cross_entropy_forward(logits, labels, reduction, weight=None, ignore_index=-100,
                          label_smoothing=0.0):
    check_reduction("cross_entropy", reduction)
    logits = device("cross_entropy", logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be 2-D (batch, classes), got shape "
                         f"{logits.shape}")
    options = _Classes("cross_entropy", labels, weight, ignore_index, label_smoothing,
                       *logits.shape, True)
    log_probs = log_softmax_forward(logits, 1)
    return _class_forward(options, log_probs, reduction), log_probs


def cross_entropy_backward(grad_output, log_probs, labels, reduction, weight=None,
                           ignore_index=-100, label_smoothing=0.0):
    check_reduction("cross_entropy", reduction)
    grad_output = device("cross_entropy", grad_output, "grad_output")
    log_probs = device("cross_entropy", log_probs, "log_probs")
    batch, classes = log_probs.shape
    options = _Classes("cross_entropy", labels, weight, ignore_index, label_smoothing, batch,
                       classes, True)
    probabilities = np.exp(log_probs)
    if options.probs is not None:
        v = options.prob_coefficients()
        scale = _scale(grad_output, reduction, batch)
        totals = np.sum(v, axis=1, keepdims=True)
        return ufunc(np.multiply, scale,
                     ufunc(np.subtract, ufunc(np.multiply, probabilities, totals), v))
    weights = _label_weights(options)
    divisor = np.sum(weights)
    scale = _scale(grad_output, reduction, divisor)
    # The label part of -v, scaled: nll_backward's -w_l s_i at column l.
    grad = _nll_grad(options, grad_output, reduction, divisor)
    # sum_c v_ic = (1 - e) w_l + e/C sum_c w_c on the rows kept.
    totals = weights
    if options.smoothing:
        totals = ufunc(np.multiply, weights, 1.0 - options.smoothing)
        spread_total = options.spread() * classes if options.weight is None else \
            ufunc(np.multiply, np.sum(options.weight), options.spread())
        kept = options.kept()
        totals = ufunc(np.add, totals, ufunc(np.multiply, kept, spread_total))
    grad = ufunc(np.multiply, grad, 1.0 - options.smoothing) if options.smoothing else grad
    rest = ufunc(np.multiply, probabilities, totals.reshape(-1, 1))
    if options.smoothing:
        spread_row = options.spread() if options.weight is None else \
            ufunc(np.multiply, options.weights_row(), options.spread())
        rest = ufunc(np.subtract, rest, ufunc(np.multiply, kept.reshape(-1, 1), spread_row))
    grad = ufunc(np.add, grad, ufunc(np.multiply, scale, rest))
    if reduction == "mean":  # every row ignored: the scale is NaN, the rows stay zero
        grad = np.where(ufunc(np.not_equal, options.labels, options.ignore_index).reshape(-1, 1),
                        grad, 0.0)
    return grad


# ---- pointwise losses ----

def _pair(op, input, target):
    input, target = device(op, input, "input"), device(op, target, "target")
    if input.shape != target.shape:
        raise ValueError(f"{op}: input and target must have one shape, got {input.shape} and "
                         f"{target.shape}")
    return input, target


def _pointwise_forward(op, kind, input, target, reduction, param=0.0, weight=None,
                       pos_weight=None):
    check_reduction(op, reduction)
    input, target = _pair(op, input, target)
    weight, pos_weight = optional(op, weight, "weight"), optional(op, pos_weight, "pos_weight")
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None and value.shape != input.shape:
            raise ValueError(f"{op}: {name} must have the input's shape {input.shape}, got "
                             f"{value.shape}")
    losses = empty(input.shape)
    if input.size:
        input.runtime.pointwise_loss_forward(kind, losses.ptr, input.ptr, target.ptr,
                                             _pointer(weight), _pointer(pos_weight),
                                             input.size, float(param))
    return reduce_loss(losses.reshape(-1), reduction, input.shape)


def _pointwise_backward(op, kind, grad_output, input, target, reduction, param=0.0,
                        weight=None, pos_weight=None):
    check_reduction(op, reduction)
    input, target = _pair(op, input, target)
    grad_output = device(op, grad_output, "grad_output")
    weight, pos_weight = optional(op, weight, "weight"), optional(op, pos_weight, "pos_weight")
    grad_input = empty(input.shape)
    if input.size:
        input.runtime.pointwise_loss_backward(
            kind, grad_input.ptr, grad_output.ptr, 1 if reduction == "none" else 0, input.ptr,
            target.ptr, _pointer(weight), _pointer(pos_weight), input.size, float(param),
            1.0 / input.size if reduction == "mean" else 1.0)
    return grad_input


def mse_loss_forward(input, target, reduction):
    return _pointwise_forward("mse_loss", "mse", input, target, reduction)


def mse_loss_backward(grad_output, input, target, reduction):
    return _pointwise_backward("mse_loss", "mse", grad_output, input, target, reduction)


def l1_loss_forward(input, target, reduction):
    return _pointwise_forward("l1_loss", "l1", input, target, reduction)


def l1_loss_backward(grad_output, input, target, reduction):
    return _pointwise_backward("l1_loss", "l1", grad_output, input, target, reduction)


def _positive(op, name, value):
    if not value > 0:
        raise ValueError(f"{op}: {name} must be > 0, got {value}")
    return value


def smooth_l1_loss_forward(input, target, reduction, beta=1.0):
    return _pointwise_forward("smooth_l1_loss", "smooth_l1", input, target, reduction,
                              _positive("smooth_l1_loss", "beta", beta))


def smooth_l1_loss_backward(grad_output, input, target, reduction, beta=1.0):
    return _pointwise_backward("smooth_l1_loss", "smooth_l1", grad_output, input, target,
                               reduction, _positive("smooth_l1_loss", "beta", beta))


def huber_loss_forward(input, target, reduction, delta=1.0):
    return _pointwise_forward("huber_loss", "huber", input, target, reduction,
                              _positive("huber_loss", "delta", delta))


def huber_loss_backward(grad_output, input, target, reduction, delta=1.0):
    return _pointwise_backward("huber_loss", "huber", grad_output, input, target, reduction,
                               _positive("huber_loss", "delta", delta))


def _kl_kind(log_target):
    return "kl_div_log_target" if log_target else "kl_div"


def kl_div_forward(input, target, reduction, log_target=False):
    return _pointwise_forward("kl_div", _kl_kind(log_target), input, target, reduction)


def kl_div_backward(grad_output, input, target, reduction, log_target=False):
    return _pointwise_backward("kl_div", _kl_kind(log_target), grad_output, input, target,
                               reduction)


def binary_cross_entropy_forward(input, target, reduction, weight=None):
    return _pointwise_forward("binary_cross_entropy", "bce", input, target, reduction,
                              weight=weight)


def binary_cross_entropy_backward(grad_output, input, target, reduction, weight=None):
    return _pointwise_backward("binary_cross_entropy", "bce", grad_output, input, target,
                               reduction, weight=weight)


def binary_cross_entropy_with_logits_forward(input, target, reduction, weight=None,
                                             pos_weight=None):
    return _pointwise_forward("binary_cross_entropy_with_logits", "bce_with_logits", input,
                              target, reduction, weight=weight, pos_weight=pos_weight)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, reduction,
                                              weight=None, pos_weight=None):
    return _pointwise_backward("binary_cross_entropy_with_logits", "bce_with_logits",
                               grad_output, input, target, reduction, weight=weight,
                               pos_weight=pos_weight)
