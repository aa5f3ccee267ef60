"""Optimizer steps: the compiled kernels, called with the lists as given.

Gradients are inputs, so a non-contiguous one is copied; parameters and state
buffers are updated in place and the binding refuses any of the wrong dtype or
layout rather than updating a copy. The binding checks every array before it
writes anything, so the copy is made only after a refusal, and the usual call
costs nothing extra.
"""
import numpy as np

from cunn import _C

__all__ = ["sgd_step_", "adam_step_", "rmsprop_step_", "adadelta_step_", "adagrad_step_"]


def _contiguous(grads):
    """``grads`` with non-contiguous arrays copied, or ``grads`` itself if none is."""
    if not isinstance(grads, (list, tuple)) or not any(
            type(grad) is np.ndarray and not grad.flags.c_contiguous for grad in grads):
        return grads
    return [np.ascontiguousarray(grad) if type(grad) is np.ndarray else grad for grad in grads]


def _call(kernel, params, grads, *rest):
    try:
        kernel(params, grads, *rest)
    except ValueError:
        contiguous = _contiguous(grads)
        if contiguous is grads:
            raise
        kernel(params, contiguous, *rest)


def sgd_step_(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
              nesterov, first_step):
    _call(_C.sgd_step_, params, grads, momentum_buffers, lr, momentum, dampening,
          weight_decay, nesterov, first_step)


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step,
               decoupled_weight_decay, max_exp_avg_sqs=()):
    _call(_C.adam_step_, params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps,
          weight_decay, step, decoupled_weight_decay, max_exp_avg_sqs)


def rmsprop_step_(params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                  weight_decay, momentum, centered):
    _call(_C.rmsprop_step_, params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha,
          eps, weight_decay, momentum, centered)


def adadelta_step_(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay):
    _call(_C.adadelta_step_, params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay)


def adagrad_step_(params, grads, state_sums, lr, lr_decay, weight_decay, eps, step):
    _call(_C.adagrad_step_, params, grads, state_sums, lr, lr_decay, weight_decay, eps, step)
