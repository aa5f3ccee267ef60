"""Optimizer steps on the cuda backend: one runtime launch per parameter tensor, in place.

Parameters and state buffers are updated in place, so each must be a float32 C-contiguous
device array of the parameter's shape; anything else is refused (never copied) before any
array is written. Gradients are inputs: a non-contiguous one is copied.
"""
from cunn._backends.cuda._common import FLOAT32, device
from cunn._backends.cuda.array import DeviceArray

__all__ = ["sgd_step_", "adam_step_", "rmsprop_step_", "adadelta_step_", "adagrad_step_"]


def _in_place(op, name, index, array, shape):
    if not isinstance(array, DeviceArray):
        raise RuntimeError(f"{op}: {name}[{index}] is a {type(array).__name__} on the cpu; "
                           "parameters and optimizer state must be on cuda")
    if array.dtype != FLOAT32 or not array.is_contiguous() or array.shape != shape:
        raise ValueError(f"{op}: {name}[{index}] must be a float32 C-contiguous array of shape "
                         f"{shape}, got {array.dtype} {array.shape}"
                         f"{'' if array.is_contiguous() else ' (not contiguous)'}")
    return array


def _checked(op, params, grads, states, optional=()):
    """[(param, grad, {state name: array or None})] after checking every array."""
    if len(grads) != len(params):
        raise ValueError(f"{op}: got {len(params)} params but {len(grads)} grads")
    for name, arrays in list(states) + list(optional):
        if arrays and len(arrays) != len(params):
            raise ValueError(f"{op}: {name} must have one entry per parameter ({len(params)}), "
                             f"got {len(arrays)}")
    checked = []
    for index, param in enumerate(params):
        param = _in_place(op, "params", index, param, getattr(param, "shape", None))
        grad = device(op, grads[index], f"grads[{index}]")
        if grad.shape != param.shape:
            raise ValueError(f"{op}: grads[{index}] has shape {grad.shape}, the parameter "
                             f"{param.shape}")
        buffers = {}
        for name, arrays in list(states) + list(optional):
            buffers[name] = _in_place(op, name, index, arrays[index], param.shape) \
                if arrays else None
        checked.append((param, grad, buffers))
    return checked


def _pointer(array):
    return 0 if array is None else array.ptr


def sgd_step_(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
              nesterov, first_step):
    checked = _checked("sgd_step_", params, grads, (), (("momentum_buffers", momentum_buffers),))
    for param, grad, buffers in checked:
        param.runtime.sgd_step(param.ptr, grad.ptr, _pointer(buffers["momentum_buffers"]),
                               param.size, float(lr), float(momentum), float(dampening),
                               float(weight_decay), bool(nesterov), bool(first_step))


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step,
               decoupled_weight_decay, max_exp_avg_sqs=()):
    if step < 1:
        raise ValueError(f"adam_step_: step must be >= 1, got {step}")
    checked = _checked("adam_step_", params, grads,
                       (("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)),
                       (("max_exp_avg_sqs", max_exp_avg_sqs),))
    for param, grad, buffers in checked:
        param.runtime.adam_step(param.ptr, grad.ptr, buffers["exp_avgs"].ptr,
                                buffers["exp_avg_sqs"].ptr, _pointer(buffers["max_exp_avg_sqs"]),
                                param.size, float(lr), float(beta1), float(beta2), float(eps),
                                float(weight_decay), int(step), bool(decoupled_weight_decay))


def rmsprop_step_(params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                  weight_decay, momentum, centered):
    checked = _checked("rmsprop_step_", params, grads, (("square_avgs", square_avgs),),
                       (("momentum_buffers", momentum_buffers), ("grad_avgs", grad_avgs)))
    if momentum > 0 and not momentum_buffers and params:
        raise ValueError("rmsprop_step_: momentum_buffers must be given when momentum > 0")
    if centered and not grad_avgs and params:
        raise ValueError("rmsprop_step_: grad_avgs must be given when centered")
    for param, grad, buffers in checked:
        param.runtime.rmsprop_step(param.ptr, grad.ptr, buffers["square_avgs"].ptr,
                                   _pointer(buffers["momentum_buffers"] if momentum > 0 else None),
                                   _pointer(buffers["grad_avgs"] if centered else None),
                                   param.size, float(lr), float(alpha), float(eps),
                                   float(weight_decay), float(momentum), bool(centered))


def adadelta_step_(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay):
    checked = _checked("adadelta_step_", params, grads,
                       (("square_avgs", square_avgs), ("acc_deltas", acc_deltas)))
    for param, grad, buffers in checked:
        param.runtime.adadelta_step(param.ptr, grad.ptr, buffers["square_avgs"].ptr,
                                    buffers["acc_deltas"].ptr, param.size, float(lr), float(rho),
                                    float(eps), float(weight_decay))


def adagrad_step_(params, grads, state_sums, lr, lr_decay, weight_decay, eps, step):
    if step < 1:
        raise ValueError(f"adagrad_step_: step must be >= 1, got {step}")
    checked = _checked("adagrad_step_", params, grads, (("state_sums", state_sums),))
    for param, grad, buffers in checked:
        param.runtime.adagrad_step(param.ptr, grad.ptr, buffers["state_sums"].ptr, param.size,
                                   float(lr), float(lr_decay), float(weight_decay), float(eps),
                                   int(step))
