"""The optimizer base class: parameter groups, per-parameter state, state dicts.

Subclasses implement ``_step_group(group, kernels)``, which gathers the group's
parameters that have a gradient and updates them all with one call of the
backend's list kernel (``sgd_step_``, ``adam_step_``, ``rmsprop_step_``,
``adadelta_step_``, ``adagrad_step_``; a second call only when some parameters
are at another step count or need a fresh momentum buffer), so the Python cost of a step does not grow with the tensors.

Parameters are duck-typed on the Tensor contract: ``p._data`` is the
parameter's ndarray or GPU DeviceArray (updated in place), ``p.grad`` is None or a Tensor
whose ``_data`` holds the gradient. A group on the GPU steps with the CUDA backend's
kernels, its state arrays in GPU memory beside the parameters.
"""
import importlib
import itertools

import numpy as np

from cunn._memory import aligned_zeros
from cunn.autograd.function import mark_changed_in_place
from cunn._backends import current as _current_backend
from cunn.device import check_same_device, copy_into, device_of, filled, is_device_array, \
    to_host, transfer

__all__ = ["Optimizer"]

# Version stamps for _ParamState, unique across instances, so a cache entry made
# for one state table can never pass for another.
_versions = itertools.count(1)


class _ParamState:
    """``optimizer.state``: per-parameter state dicts keyed by the parameter itself.

    Keyed by identity, so it works whatever ``==`` means for tensors; a missing
    parameter reads as a new empty dict, as PyTorch's defaultdict does.
    """

    def __init__(self):
        self._entries = {}  # id(param) -> (param, state dict)
        self.version = next(_versions)  # changes whenever a parameter's state dict does

    def __getitem__(self, param):
        entry = self._entries.get(id(param))
        if entry is None:
            entry = self._entries[id(param)] = (param, {})
            self.version = next(_versions)
        return entry[1]

    def __setitem__(self, param, state):
        self._entries[id(param)] = (param, state)
        self.version = next(_versions)

    def __delitem__(self, param):
        del self._entries[id(param)]
        self.version = next(_versions)

    def __contains__(self, param):
        return id(param) in self._entries

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return (param for param, _ in self._entries.values())

    def get(self, param, default=None):
        entry = self._entries.get(id(param))
        return default if entry is None else entry[1]

    def items(self):
        return list(self._entries.values())

    def keys(self):
        return list(self)

    def values(self):
        return [state for _, state in self._entries.values()]

    def clear(self):
        self._entries.clear()
        self.version = next(_versions)

    # Copies and pickles re-key the entries by the copied parameters' ids.
    def __getstate__(self):
        return {"entries": list(self._entries.values())}

    def __setstate__(self, state):
        self._entries = {id(param): (param, values) for param, values in state["entries"]}
        self.version = next(_versions)

    def __repr__(self):
        return "{" + ", ".join(f"<param {tuple(p._data.shape)}>: {s!r}"
                               for p, s in self._entries.values()) + "}"


def _is_tensor(value):
    data = getattr(value, "_data", None)
    return isinstance(data, np.ndarray) or is_device_array(data)


class Optimizer:
    """Base class of every optimizer; ``defaults`` holds the per-group settings."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups = []
        self._states_cache = {}
        self._state_kinds = {}  # id(group) -> the array type its state was last placed for
        if _is_tensor(params) or isinstance(params, np.ndarray):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            f"dicts, got a single {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: params must be an ordered collection "
                            "(a set's order changes between runs)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- groups ----

    def add_param_group(self, param_group):
        """Adds a group (a dict with 'params' and optional per-group settings)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group must have a 'params' entry")
        params = param_group["params"]
        if _is_tensor(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: a group's params must be an ordered collection, not a set")
        else:
            params = list(params)
        for param in params:
            if not _is_tensor(param):
                raise TypeError(f"{name}: can only optimize Tensors, but one of the params is "
                                f"{type(param).__name__}")
            if not getattr(param, "is_leaf", True):
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
        seen = set()
        for param in params:
            if id(param) in seen:
                raise ValueError(f"{name}: a parameter appears twice in one parameter group")
            seen.add(id(param))
        for group in self.param_groups:
            if any(id(param) in seen for param in group["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one "
                                 "parameter group")
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_settings(group)
        self.param_groups.append(group)

    def _check_settings(self, group):
        """Raises ValueError for invalid settings (negative lr, ...); subclasses extend it."""
        _require_non_negative(self, group, "lr")

    # ---- gradients and steps ----

    def zero_grad(self, set_to_none=True):
        """Clears every parameter's gradient (to None, or to zeros in place)."""
        for group in self.param_groups:
            for param in group["params"]:
                # _grad, not the grad property: this runs for every parameter every step.
                if param._grad is None:
                    continue
                if set_to_none:
                    param._grad = None
                else:
                    copy_into(param._grad._data, 0, "zero_grad")

    def step(self, closure=None):
        """Updates every parameter that has a gradient; returns closure() if given."""
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            self._step_group(group, self._kernels(group))
            # The kernels changed the arrays in place: a graph recorded before this step
            # must not backpropagate through the new values (PyTorch raises there too).
            mark_changed_in_place(*[param for param in group["params"]
                                    if param._grad is not None])  # the ones it updated
        return loss

    def _kernels(self, group):
        """The backend for the group's arrays (host or GPU); RuntimeError naming both
        devices when its parameters are on different ones."""
        params = group["params"]
        if not params:
            return _current_backend()
        kind = type(params[0]._data)
        for param in params:
            if type(param._data) is not kind:
                check_same_device(f"{type(self).__name__}.step", *[p._data for p in params])
        if self._state_kinds.get(id(group)) is not kind:
            self._place_state(params)  # the module moved since the last step
            self._state_kinds[id(group)] = kind
        if issubclass(kind, np.ndarray):
            return _current_backend()
        return importlib.import_module("cunn._backends.cuda")

    def _place_state(self, params):
        """Moves each parameter's state arrays to the parameter's device: a model moved
        with .to() after its optimizer was made (and state filled) keeps working."""
        for param in params:
            state = self.state.get(param)
            for key, value in (state or {}).items():
                if (isinstance(value, np.ndarray) or is_device_array(value)) and \
                        type(value) is not type(param._data):
                    state[key] = transfer(value, device_of(param._data), "step")

    def _step_group(self, group, kernels):
        raise NotImplementedError

    def _init_state(self, param, state):
        """Fills a parameter's empty state dict before its first update."""

    def _active(self, group):
        """The group's parameters that have a gradient, and their state dicts.

        The state dicts for a given set of parameters are cached (keyed by the
        parameters and the state table's version), so a step costs a few list
        builds; the arrays are read from the dicts afresh every step, so one
        replaced in ``optimizer.state[p]`` is used, as in PyTorch.
        """
        active = [param for param in group["params"] if param._grad is not None]
        key = tuple(map(id, active))
        cached = self._states_cache.get(key)
        if cached is not None and cached[0] == self.state.version:
            return active, cached[2]
        states = []
        for param in active:
            state = self.state[param]
            if not state:
                self._init_state(param, state)
            states.append(state)
        if len(self._states_cache) > 64:
            self._states_cache.clear()
        # Keeping `active` alive means the ids in the key cannot be reused.
        self._states_cache[key] = (self.state.version, active, states)
        return active, states

    def _new_state_array(self, param):
        if isinstance(param._data, np.ndarray):
            return aligned_zeros(param._data.shape, param._data.dtype)
        # beside the parameter, filled on the GPU
        return filled(device_of(param._data), param._data.shape, 0, param._data.dtype, "step")

    # ---- state dicts ----

    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}.

        Parameters are numbered in group order, as PyTorch does; state arrays are
        NumPy copies (GPU state is copied to the host), so the dict is a snapshot that
        later steps do not change and ``cunn.save`` can write.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {}
        for param, values in sorted(self.state.items(), key=lambda item: index_of[id(item[0])]):
            state[index_of[id(param)]] = {
                key: value.copy() if isinstance(value, np.ndarray)
                else to_host(value) if is_device_array(value) else value
                for key, value in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores what ``state_dict()`` returned (arrays may be NumPy arrays or Tensors)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or \
                "state" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups' entries")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, the optimizer {len(self.param_groups)}")
        param_of = {}
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            saved_params = list(saved["params"])
            if len(saved_params) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {number} has "
                                 f"{len(saved_params)} parameters in the state dict, "
                                 f"{len(group['params'])} in the optimizer")
            for index, param in zip(saved_params, group["params"]):
                param_of[int(index)] = param
        new_state = _ParamState()
        for key, values in state_dict["state"].items():
            index = int(key)
            if index not in param_of:
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, which "
                                 "no parameter group lists")
            param = param_of[index]
            new_state[param] = {
                entry: _state_value(name, index, entry, value, param)
                for entry, value in values.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {key: value for key, value in saved.items()}
            new_group["params"] = group["params"]
            for key, default in self.defaults.items():
                new_group.setdefault(key, default)
            new_groups.append(new_group)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _state_value(optimizer_name, index, entry, value, param):
    if entry == "step":
        step = np.asarray(value._data if _is_tensor(value) else value)
        if step.size != 1:
            raise ValueError(f"{optimizer_name}.load_state_dict: state[{index}]['step'] must be "
                             f"a number, got shape {step.shape}")
        return int(step.reshape(()).item())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    array = value._data if _is_tensor(value) else value
    array = to_host(array) if is_device_array(array) else np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{optimizer_name}.load_state_dict: state[{index}][{entry!r}] must be "
                        f"a numeric array, got {array.dtype}")
    if array.shape != param._data.shape:
        raise ValueError(f"{optimizer_name}.load_state_dict: state[{index}][{entry!r}] must "
                         f"have shape {param._data.shape}, got {array.shape}")
    array = np.array(array, dtype=param._data.dtype, order="C", copy=True)
    # state lives beside its parameter, on the GPU for a GPU parameter
    return array if isinstance(param._data, np.ndarray) else \
        transfer(array, device_of(param._data), "load_state_dict")


def _require_non_negative(optimizer, group, key):
    value = group[key]
    if not value >= 0.0:
        raise ValueError(f"{type(optimizer).__name__}: {key} must be >= 0, got {value}")
