"""RMSprop, PyTorch's rule (optionally centered, with momentum)."""
from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """PyTorch's RMSprop."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _check_settings(self, group):
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _require_non_negative(self, group, key)

    def _step_group(self, group, kernels):
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        params, grads, square_avgs, buffers, grad_avgs = [], [], [], [], []
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            state = self.state[param]
            if not state:
                state["step"] = 0
                state["square_avg"] = self._new_state_array(param)
                if momentum > 0:
                    state["momentum_buffer"] = self._new_state_array(param)
                if centered:
                    state["grad_avg"] = self._new_state_array(param)
            state["step"] += 1
            params.append(param._data)
            grads.append(grad._data)
            square_avgs.append(state["square_avg"])
            if momentum > 0:
                buffers.append(_state_array(self, state, "momentum_buffer", param))
            if centered:
                grad_avgs.append(_state_array(self, state, "grad_avg", param))
        if params:
            kernels.rmsprop_step_(params, grads, square_avgs, buffers, grad_avgs,
                                  float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                                  float(group["weight_decay"]), momentum, centered)


def _state_array(optimizer, state, key, param):
    """A state buffer, created at zero if the group's settings changed to need it."""
    if key not in state:
        state[key] = optimizer._new_state_array(param)
    return state[key]
