"""RMSprop, PyTorch's rule (optionally centered, with momentum)."""
from operator import itemgetter

from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["RMSprop"]

_SQUARE_AVG = itemgetter("square_avg")


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

    def _init_state(self, param, state):
        state["step"] = 0
        state["square_avg"] = self._new_state_array(param)

    def _optional(self, active, states, key):
        """State buffers that only some settings use, created at zero when first needed
        (PyTorch creates them with the state; zero is what they would hold then)."""
        for param, state in zip(active, states):
            if key not in state:
                state[key] = self._new_state_array(param)
        return list(map(itemgetter(key), states))

    def _step_group(self, group, kernels):
        active, states = self._active(group)
        if not active:
            return
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        for state in states:
            state["step"] += 1
        buffers = self._optional(active, states, "momentum_buffer") if momentum > 0 else []
        grad_avgs = self._optional(active, states, "grad_avg") if centered else []
        try:
            kernels.rmsprop_step_([p._data for p in active], [p.grad._data for p in active],
                                  list(map(_SQUARE_AVG, states)), buffers, grad_avgs,
                                  float(group["lr"]), float(group["alpha"]),
                                  float(group["eps"]), float(group["weight_decay"]), momentum,
                                  centered)
        except BaseException:
            # Nothing was written (the kernel checks first): undo the count.
            for state in states:
                state["step"] -= 1
            raise
