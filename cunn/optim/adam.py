"""Adam and AdamW (Adam with decoupled weight decay), PyTorch's rules (amsgrad=False)."""
from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """PyTorch's Adam: weight decay is added to the gradient (L2 regularisation)."""

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_settings(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            _require_non_negative(self, group, key)
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: betas[{index}] must be in [0, 1), got {beta}")

    def _step_group(self, group, kernels):
        # Parameters that received gradients in different steps have different step
        # counts (hence bias corrections): one kernel call per count, usually one.
        by_step = {}
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            state = self.state[param]
            if not state:
                state["step"] = 0
                state["exp_avg"] = self._new_state_array(param)
                state["exp_avg_sq"] = self._new_state_array(param)
            state["step"] += 1
            lists = by_step.get(state["step"])
            if lists is None:
                lists = by_step[state["step"]] = ([], [], [], [])
            lists[0].append(param._data)
            lists[1].append(grad._data)
            lists[2].append(state["exp_avg"])
            lists[3].append(state["exp_avg_sq"])
        beta1, beta2 = group["betas"]
        for step, (params, grads, exp_avgs, exp_avg_sqs) in by_step.items():
            kernels.adam_step_(params, grads, exp_avgs, exp_avg_sqs, float(group["lr"]),
                               float(beta1), float(beta2), float(group["eps"]),
                               float(group["weight_decay"]), step,
                               self._decoupled_weight_decay)


class AdamW(Adam):
    """PyTorch's AdamW: the parameter itself decays, ``param *= 1 - lr * weight_decay``."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
