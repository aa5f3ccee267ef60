"""Optimizer steps: the compiled kernels, called with the lists as given.

Gradients are inputs, so a non-contiguous one is copied; parameters and state
buffers are updated in place and the binding refuses any of the wrong dtype or
layout rather than updating a copy.
"""
import numpy as np

from cunn import _C

__all__ = ["sgd_step_", "adam_step_", "rmsprop_step_"]


def _contiguous(grads):
    if not isinstance(grads, (list, tuple)) or all(type(grad) is not np.ndarray or grad.flags.c_contiguous for grad in grads):
        return grads
    return [np.ascontiguousarray(grad) if type(grad) is np.ndarray else grad for grad in grads]


def sgd_step_(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
              nesterov, first_step):
    _C.sgd_step_(params, _contiguous(grads), momentum_buffers, lr, momentum, dampening,
                 weight_decay, nesterov, first_step)


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step,
               decoupled_weight_decay):
    _C.adam_step_(params, _contiguous(grads), exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps,
                  weight_decay, step, decoupled_weight_decay)


def rmsprop_step_(params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                  weight_decay, momentum, centered):
    _C.rmsprop_step_(params, _contiguous(grads), square_avgs, momentum_buffers, grad_avgs, lr,
                     alpha, eps, weight_decay, momentum, centered)
