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
        settings = (float(group["lr"]), momentum, float(group["dampening"]),
                    float(group["weight_decay"]), bool(group["nesterov"]))
        if momentum == 0:
            # No state at all, as in PyTorch.
            active = [param for param in group["params"] if param._grad is not None]
            if active:
                kernels.sgd_step_([p._data for p in active], [p._grad._data for p in active], [],
                                  *settings, False)
            return
        active, states = self._active(group)
        if not active:
            return
        buffers = [state.get("momentum_buffer") for state in states]
        fresh = [i for i, buffer in enumerate(buffers) if buffer is None]
        if not fresh:
            kernels.sgd_step_([p._data for p in active], [p._grad._data for p in active],
                              buffers, *settings, False)
            return
        # PyTorch creates a buffer from the first (decayed) gradient, undamped.
        for i in fresh:
            buffers[i] = states[i]["momentum_buffer"] = self._new_state_array(active[i])
        try:
            for first_step in (False, True):
                chosen = [i for i in range(len(active)) if (i in fresh) == first_step]
                if chosen:
                    kernels.sgd_step_([active[i]._data for i in chosen],
                                      [active[i]._grad._data for i in chosen],
                                      [buffers[i] for i in chosen], *settings, first_step)
        except BaseException:
            # A buffer that was never filled must not pass for one on the next step.
            for i in fresh:
                del states[i]["momentum_buffer"]
            raise
