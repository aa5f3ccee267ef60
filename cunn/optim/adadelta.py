"""Adadelta, PyTorch's rule."""
from operator import itemgetter

from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["Adadelta"]

_SQUARE_AVG = itemgetter("square_avg")
_ACC_DELTA = itemgetter("acc_delta")


class Adadelta(Optimizer):
    """PyTorch's Adadelta: the step is scaled by the ratio of two running RMS values."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_settings(self, group):
        for key in ("lr", "eps", "weight_decay"):
            _require_non_negative(self, group, key)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {group['rho']}")

    def _init_state(self, param, state):
        state["step"] = 0
        state["square_avg"] = self._new_state_array(param)
        state["acc_delta"] = self._new_state_array(param)

    def _step_group(self, group, kernels):
        active, states = self._active(group)
        if not active:
            return
        kernels.adadelta_step_([p._data for p in active], [p.grad._data for p in active],
                               list(map(_SQUARE_AVG, states)), list(map(_ACC_DELTA, states)),
                               float(group["lr"]), float(group["rho"]), float(group["eps"]),
                               float(group["weight_decay"]))
        # Counted after the kernel, which checks every array before it writes any.
        for state in states:
            state["step"] += 1
