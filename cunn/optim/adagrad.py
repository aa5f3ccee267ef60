"""Adagrad, PyTorch's rule (dense gradients)."""
from cunn.device import copy_into
from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """PyTorch's Adagrad: each element's step shrinks with its summed squared gradients."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """As the base class; PyTorch fills the new parameters' state right away, from the
        group's ``initial_accumulator_value``."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for param in group["params"]:
            state = self.state[param]
            if not state:
                self._init_state(param, state, group["initial_accumulator_value"])

    def _check_settings(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _require_non_negative(self, group, key)

    def _init_state(self, param, state, initial_accumulator_value=None):
        if initial_accumulator_value is None:
            initial_accumulator_value = self.defaults["initial_accumulator_value"]
        state["step"] = 0
        state["sum"] = self._new_state_array(param)
        copy_into(state["sum"], initial_accumulator_value, "Adagrad")  # on either device

    def _step_group(self, group, kernels):
        active, states = self._active(group)
        if not active:
            return
        settings = (float(group["lr"]), float(group["lr_decay"]), float(group["weight_decay"]),
                    float(group["eps"]))
        # Parameters that missed some steps decay their lr by their own count.
        by_step = {}
        for index, state in enumerate(states):
            by_step.setdefault(state["step"] + 1, []).append(index)
        for step in sorted(by_step):
            chosen = by_step[step]
            kernels.adagrad_step_([active[i]._data for i in chosen],
                                  [active[i].grad._data for i in chosen],
                                  [states[i]["sum"] for i in chosen], *settings, step)
            for i in chosen:
                states[i]["step"] = step
