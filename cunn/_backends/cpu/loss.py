"""loss kernels (float32, int64 labels), over cunn._C."""
import numpy as np

from cunn import _C

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


def _contiguous(array):
    # np.ascontiguousarray would turn a 0-d array (a reduced loss's grad_output) into 1-d.
    return np.asarray(array, order="C")


def _optional(array):
    return None if array is None else _contiguous(array)


def cross_entropy_forward(logits, labels, reduction, weight=None, ignore_index=-100,
                          label_smoothing=0.0):
    return _C.cross_entropy_forward(_contiguous(logits), _contiguous(labels), reduction,
                                    _optional(weight), ignore_index, label_smoothing)


def cross_entropy_backward(grad_output, log_probs, labels, reduction, weight=None,
                           ignore_index=-100, label_smoothing=0.0):
    return _C.cross_entropy_backward(_contiguous(grad_output), _contiguous(log_probs),
                                     _contiguous(labels), reduction, _optional(weight),
                                     ignore_index, label_smoothing)


def nll_loss_forward(log_probs, labels, reduction, weight=None, ignore_index=-100):
    return _C.nll_loss_forward(_contiguous(log_probs), _contiguous(labels), reduction,
                               _optional(weight), ignore_index)


def nll_loss_backward(grad_output, labels, num_classes, reduction, weight=None,
                      ignore_index=-100):
    return _C.nll_loss_backward(_contiguous(grad_output), _contiguous(labels), num_classes,
                                reduction, _optional(weight), ignore_index)


def _pointwise(name):
    forward = getattr(_C, name + "_forward")
    backward = getattr(_C, name + "_backward")

    def loss_forward(input, target, reduction):
        return forward(_contiguous(input), _contiguous(target), reduction)

    def loss_backward(grad_output, input, target, reduction):
        return backward(_contiguous(grad_output), _contiguous(input), _contiguous(target),
                        reduction)

    loss_forward.__name__ = name + "_forward"
    loss_backward.__name__ = name + "_backward"
    return loss_forward, loss_backward


mse_loss_forward, mse_loss_backward = _pointwise("mse_loss")
l1_loss_forward, l1_loss_backward = _pointwise("l1_loss")


def binary_cross_entropy_forward(input, target, reduction, weight=None):
    return _C.binary_cross_entropy_forward(_contiguous(input), _contiguous(target), reduction,
                                           _optional(weight))


def binary_cross_entropy_backward(grad_output, input, target, reduction, weight=None):
    return _C.binary_cross_entropy_backward(_contiguous(grad_output), _contiguous(input),
                                            _contiguous(target), reduction, _optional(weight))


def binary_cross_entropy_with_logits_forward(input, target, reduction, weight=None,
                                             pos_weight=None):
    return _C.binary_cross_entropy_with_logits_forward(
        _contiguous(input), _contiguous(target), reduction, _optional(weight),
        _optional(pos_weight))


def binary_cross_entropy_with_logits_backward(grad_output, input, target, reduction,
                                              weight=None, pos_weight=None):
    return _C.binary_cross_entropy_with_logits_backward(
        _contiguous(grad_output), _contiguous(input), _contiguous(target), reduction,
        _optional(weight), _optional(pos_weight))


def smooth_l1_loss_forward(input, target, reduction, beta=1.0):
    return _C.smooth_l1_loss_forward(_contiguous(input), _contiguous(target), reduction, beta)


def smooth_l1_loss_backward(grad_output, input, target, reduction, beta=1.0):
    return _C.smooth_l1_loss_backward(_contiguous(grad_output), _contiguous(input),
                                      _contiguous(target), reduction, beta)


def huber_loss_forward(input, target, reduction, delta=1.0):
    return _C.huber_loss_forward(_contiguous(input), _contiguous(target), reduction, delta)


def huber_loss_backward(grad_output, input, target, reduction, delta=1.0):
    return _C.huber_loss_backward(_contiguous(grad_output), _contiguous(input),
                                  _contiguous(target), reduction, delta)


def kl_div_forward(input, target, reduction, log_target=False):
    return _C.kl_div_forward(_contiguous(input), _contiguous(target), reduction, log_target)


def kl_div_backward(grad_output, input, target, reduction, log_target=False):
    return _C.kl_div_backward(_contiguous(grad_output), _contiguous(input), _contiguous(target),
                              reduction, log_target)
