"""Optimizer steps (SGD, Adam/AdamW, RMSprop, Adadelta, Adagrad) in place over lists of arrays.

The specification of csrc/kernels/optim.cpp: PyTorch's single-tensor rules
(torch.optim._single_tensor_*, maximize=False) with the same
order of operations, each rounded to the arrays' dtype (float32, or float64
when the arrays are float64). Scalars PyTorch computes in Python (bias
corrections, 1 - lr * weight_decay) are computed in double and then rounded to
the arrays' dtype, as PyTorch does when it hands them to a float32 op.
"""
import numpy as np

__all__ = ["sgd_step_", "adam_step_", "rmsprop_step_", "adadelta_step_", "adagrad_step_"]


def _check(op, params, grads, states, optional=()):
    """Validates the lists as the compiled binding does; returns the arrays' dtype.

    ``states`` are (name, list) pairs that need one array per parameter;
    ``optional`` are (name, list, used, when) for lists that are empty when unused.
    """
    for name, values in (("params", params), ("grads", grads)) + tuple(states) + tuple(
            (name, values) for name, values, _, _ in optional):
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"{op}: {name} must be a list of arrays, got {type(values).__name__}")
        for index, value in enumerate(values):
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{op}: {name}[{index}] must be a numpy array, "
                                f"got {type(value).__name__}")
    dtype = params[0].dtype if params else np.dtype(np.float32)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: params[0] must be float32 (or float64), got {dtype}")
    required = [("grads", grads, False)] + [(name, values, True) for name, values in states]
    for name, values, used, when in optional:
        if used:
            required.append((name, values, True))
        elif len(values):
            raise ValueError(f"{op}: {name} must be empty {when}, got {len(values)} arrays")
    for name, values, _ in required:
        if len(values) != len(params):
            raise ValueError(f"{op}: {name} must have one array per parameter "
                             f"({len(params)}), got {len(values)}")
    for index, param in enumerate(params):
        _check_array(op, f"params[{index}]", param, dtype, param.shape, writable=True)
        for name, values, writable in required:
            _check_array(op, f"{name}[{index}]", values[index], dtype, param.shape, writable)
    return dtype


def _check_array(op, name, array, dtype, shape, writable):
    if array.dtype != dtype:
        raise TypeError(f"{op}: {name} must be {dtype}, got {array.dtype}")
    if writable and not array.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous")
    if writable and not array.flags.writeable:
        raise ValueError(f"{op}: {name} must be writable")
    if array.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(array.shape)}")


def _lerp(start, end, weight):
    """torch.lerp with a scalar weight, which switches formula at |weight| = 0.5."""
    difference = end - start
    if abs(weight) < 0.5:
        return start + weight * difference
    return end - difference * (weight.dtype.type(1) - weight)


def sgd_step_(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
              nesterov, first_step):
    dtype = _check("sgd_step_", params, grads, (),
                   (("momentum_buffers", momentum_buffers, momentum != 0, "when momentum == 0"),))
    scalar = dtype.type
    neg_lr, momentum_s = scalar(-lr), scalar(momentum)
    one_minus_dampening, weight_decay_s = scalar(1.0 - dampening), scalar(weight_decay)
    for index, (param, grad) in enumerate(zip(params, grads)):
        d = grad
        if weight_decay != 0:
            d = d + weight_decay_s * param
        if momentum != 0:
            buffer = momentum_buffers[index]
            if first_step:
                buffer[...] = d
            else:
                buffer[...] = buffer * momentum_s + one_minus_dampening * d
            d = d + momentum_s * buffer if nesterov else buffer
        param += neg_lr * d


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step,
               decoupled_weight_decay, max_exp_avg_sqs=()):
    if step < 1:
        raise ValueError(f"adam_step_: step must be >= 1, got {step}")
    amsgrad = len(max_exp_avg_sqs) > 0
    dtype = _check("adam_step_", params, grads,
                   (("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs)),
                   (("max_exp_avg_sqs", max_exp_avg_sqs, amsgrad, "without amsgrad"),))
    scalar = dtype.type
    bias_correction1 = 1.0 - beta1 ** float(step)
    bias_correction2 = 1.0 - beta2 ** float(step)
    neg_step_size = scalar(-(lr / bias_correction1))
    bias_correction2_sqrt = scalar(bias_correction2 ** 0.5)
    one_minus_beta1, beta2_s = scalar(1.0 - beta1), scalar(beta2)
    one_minus_beta2, eps_s = scalar(1.0 - beta2), scalar(eps)
    decay_factor, weight_decay_s = scalar(1.0 - lr * weight_decay), scalar(weight_decay)
    for index, (param, grad, exp_avg, exp_avg_sq) in enumerate(
            zip(params, grads, exp_avgs, exp_avg_sqs)):
        if weight_decay != 0:
            if decoupled_weight_decay:
                param *= decay_factor
            else:
                grad = grad + weight_decay_s * param
        exp_avg[...] = _lerp(exp_avg, grad, one_minus_beta1)
        exp_avg_sq[...] = exp_avg_sq * beta2_s + one_minus_beta2 * grad * grad
        second_moment = exp_avg_sq
        if amsgrad:
            # torch.maximum, which like np.maximum propagates a NaN from either side.
            second_moment = max_exp_avg_sqs[index]
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        denom = np.sqrt(second_moment) / bias_correction2_sqrt + eps_s
        param += neg_step_size * exp_avg / denom


def rmsprop_step_(params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                  weight_decay, momentum, centered):
    dtype = _check("rmsprop_step_", params, grads, (("square_avgs", square_avgs),),
                   (("momentum_buffers", momentum_buffers, momentum > 0, "when momentum <= 0"),
                    ("grad_avgs", grad_avgs, centered, "unless centered")))
    scalar = dtype.type
    neg_lr, alpha_s, one_minus_alpha = scalar(-lr), scalar(alpha), scalar(1.0 - alpha)
    eps_s, weight_decay_s, momentum_s = scalar(eps), scalar(weight_decay), scalar(momentum)
    for index, (param, grad, square_avg) in enumerate(zip(params, grads, square_avgs)):
        if weight_decay != 0:
            grad = grad + weight_decay_s * param
        square_avg[...] = square_avg * alpha_s + one_minus_alpha * grad * grad
        if centered:
            grad_avg = grad_avgs[index]
            grad_avg[...] = _lerp(grad_avg, grad, one_minus_alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps_s
        else:
            avg = np.sqrt(square_avg) + eps_s
        if momentum > 0:
            buffer = momentum_buffers[index]
            buffer[...] = buffer * momentum_s + grad / avg
            param += neg_lr * buffer
        else:
            param += neg_lr * grad / avg


def adadelta_step_(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay):
    dtype = _check("adadelta_step_", params, grads,
                   (("square_avgs", square_avgs), ("acc_deltas", acc_deltas)))
    scalar = dtype.type
    neg_lr, rho_s, one_minus_rho = scalar(-lr), scalar(rho), scalar(1.0 - rho)
    eps_s, weight_decay_s = scalar(eps), scalar(weight_decay)
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        if weight_decay != 0:
            grad = grad + weight_decay_s * param
        square_avg[...] = square_avg * rho_s + one_minus_rho * grad * grad
        std = np.sqrt(square_avg + eps_s)
        delta = np.sqrt(acc_delta + eps_s) / std * grad
        acc_delta[...] = acc_delta * rho_s + one_minus_rho * delta * delta
        param += neg_lr * delta


def adagrad_step_(params, grads, state_sums, lr, lr_decay, weight_decay, eps, step):
    if step < 1:
        raise ValueError(f"adagrad_step_: step must be >= 1, got {step}")
    dtype = _check("adagrad_step_", params, grads, (("state_sums", state_sums),))
    scalar = dtype.type
    # PyTorch computes the decayed lr in Python (double) from the step count.
    neg_clr = scalar(-(lr / (1.0 + (step - 1) * lr_decay)))
    eps_s, weight_decay_s = scalar(eps), scalar(weight_decay)
    for param, grad, state_sum in zip(params, grads, state_sums):
        if weight_decay != 0:
            grad = grad + weight_decay_s * param
        state_sum += grad * grad
        param += neg_clr * grad / (np.sqrt(state_sum) + eps_s)
