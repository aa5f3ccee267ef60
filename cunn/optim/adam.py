"""Adam and AdamW (Adam with decoupled weight decay), PyTorch's rules, amsgrad included."""
from operator import itemgetter

from cunn.optim.optimizer import Optimizer, _require_non_negative

__all__ = ["Adam", "AdamW"]

_STEP = itemgetter("step")
_EXP_AVG = itemgetter("exp_avg")
_EXP_AVG_SQ = itemgetter("exp_avg_sq")
_MAX_EXP_AVG_SQ = itemgetter("max_exp_avg_sq")


class Adam(Optimizer):
    """PyTorch's Adam: weight decay is added to the gradient (L2 regularisation)."""

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
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

    def _init_state(self, param, state):
        state["step"] = 0
        state["exp_avg"] = self._new_state_array(param)
        state["exp_avg_sq"] = self._new_state_array(param)

    def _max_exp_avg_sqs(self, group, active, states):
        """amsgrad's running maxima ([] without amsgrad), created at zero when first needed
        (a group may switch amsgrad on later, as in PyTorch)."""
        if not group["amsgrad"]:
            return []
        for param, state in zip(active, states):
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = self._new_state_array(param)
        return list(map(_MAX_EXP_AVG_SQ, states))

    def _step_group(self, group, kernels):
        active, states = self._active(group)
        if not active:
            return
        for state in states:
            state["step"] += 1
        try:
            self._update(group, kernels, active, states)
        except BaseException:
            # The kernels check every array before writing any, so undoing the
            # count leaves the optimizer as it was (a bad gradient dtype, say).
            for state in states:
                state["step"] -= 1
            raise

    def _update(self, group, kernels, active, states):
        beta1, beta2 = group["betas"]
        settings = (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                    float(group["weight_decay"]))
        maxima = self._max_exp_avg_sqs(group, active, states)
        steps = set(map(_STEP, states))
        if len(steps) == 1:
            kernels.adam_step_([p._data for p in active], [p._grad._data for p in active],
                               list(map(_EXP_AVG, states)), list(map(_EXP_AVG_SQ, states)),
                               *settings, steps.pop(), self._decoupled_weight_decay, maxima)
            return
        # Parameters that missed some steps have their own bias corrections:
        # one call per step count.
        for step in sorted(steps):
            chosen = [i for i, state in enumerate(states) if state["step"] == step]
            kernels.adam_step_([active[i]._data for i in chosen],
                               [active[i]._grad._data for i in chosen],
                               [states[i]["exp_avg"] for i in chosen],
                               [states[i]["exp_avg_sq"] for i in chosen],
                               *settings, step, self._decoupled_weight_decay,
                               [maxima[i] for i in chosen] if maxima else [])


class AdamW(Adam):
    """PyTorch's AdamW: the parameter itself decays, ``param *= 1 - lr * weight_decay``."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
