"""Stochastic gradient descent with momentum, dampening, weight decay and Nesterov."""
from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD. ``lr`` defaults to 1e-3 as in PyTorch 2.x (API.md lists it first;
    passing it, positionally or by name, is the usual style)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_settings(self, group):
        for key in ("lr", "momentum", "weight_decay"):
            _require_non_negative(self, group, key)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov requires momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _step_group(self, group, kernels):
        momentum = float(group["momentum"])
        params, grads, buffers = [], [], []
        new_params, new_grads, new_buffers = [], [], []
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            if momentum == 0:
                params.append(param._data)
                grads.append(grad._data)
                continue
            state = self.state[param]
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # PyTorch creates the buffer from the first (decayed) gradient.
                buffer = state["momentum_buffer"] = self._new_state_array(param)
                new_params.append(param._data)
                new_grads.append(grad._data)
                new_buffers.append(buffer)
            else:
                params.append(param._data)
                grads.append(grad._data)
                buffers.append(buffer)
        settings = (float(group["lr"]), momentum, float(group["dampening"]),
                    float(group["weight_decay"]), bool(group["nesterov"]))
        if params:
            kernels.sgd_step_(params, grads, buffers, *settings, False)
        if new_params:
            kernels.sgd_step_(new_params, new_grads, new_buffers, *settings, True)
