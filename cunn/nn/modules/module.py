"""Module: the base class of every layer and model, with PyTorch's semantics.

Parameters, buffers and sub-modules live in three ordered dicts (``_parameters``,
``_buffers``, ``_modules``) that attribute assignment fills; ``__getattr__`` consults
them only when ordinary lookup misses, so plain attributes cost nothing extra and
``__call__`` is a direct call of ``forward`` unless forward hooks are registered
(``_hooks.py``).
"""
import collections
import collections.abc
import itertools

import numpy as np

from cunn._tensor import Tensor
from cunn.autograd.function import mark_changed_in_place
from cunn.device import check_device, copy_into, device, is_device_array, to_host, transfer
from cunn.nn.modules import _hooks
from cunn.nn.parameter import Parameter

__all__ = ["Module"]

# Attributes whose change alters how a module runs (an instance forward, its class):
# setting or deleting one tells nn.Sequential to decide its fusions anew.
_STRUCTURAL_ATTRIBUTES = frozenset(("forward", "__class__"))


class _IncompatibleKeys(collections.namedtuple("IncompatibleKeys",
                                               ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find and did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _typename(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _as_buffer(value):
    # A NumPy array is accepted wherever a Tensor is: wrap it (sharing memory).
    return Tensor(value) if isinstance(value, np.ndarray) else value


def _check_name(kind, name, module, existing):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {_typename(name)}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')
    if name not in existing and hasattr(module, name):
        raise KeyError(f"attribute '{name}' already exists")


def _dtype_or_none(value):
    try:
        return np.dtype(value)
    except (TypeError, ValueError):
        return None


class Module:
    """Base class for all neural-network modules; subclasses define ``forward``."""

    training = True  # class default, overwritten per instance in __init__

    def __init__(self):
        set_attr = object.__setattr__
        set_attr(self, "training", True)
        set_attr(self, "_parameters", {})
        set_attr(self, "_buffers", {})
        set_attr(self, "_non_persistent_buffers_set", set())
        set_attr(self, "_modules", {})

    # ---- forward ----

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if d.get(_hooks.PRE_HOOKS) or d.get(_hooks.HOOKS):
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before ``forward`` and may return new args."""
        return _hooks.register(self, _hooks.PRE_HOOKS, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args, output)`` runs after ``forward`` and may return a new
        output."""
        return _hooks.register(self, _hooks.HOOKS, hook, prepend, with_kwargs)

    # ---- registration ----

    def register_parameter(self, name, param):
        """Adds ``param`` (a Parameter, or None) as ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call "
                                 "(call super().__init__() first)")
        _check_name("parameter", name, self, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(cunn.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Adds a non-learnable tensor (saved in the state dict unless ``persistent=False``)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call "
                                 "(call super().__init__() first)")
        _check_name("buffer", name, self, self._buffers)
        tensor = _as_buffer(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(cunn.Tensor, NumPy array or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Adds ``module`` (a Module, or None) as the child ``name``."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call "
                                 "(call super().__init__() first)")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        _check_name("module", name, self, self._modules)
        self._modules[name] = module

    register_module = add_module

    # ---- attribute protocol (PyTorch's rules) ----

    def __getattr__(self, name):
        # Only reached when ordinary lookup misses; unrolled, as it runs on every
        # self.weight / self.fc1 in a forward.
        d = self.__dict__
        if "_parameters" in d:
            store = d["_parameters"]
            if name in store:
                return store[name]
            store = d["_buffers"]
            if name in store:
                return store[name]
            store = d["_modules"]
            if name in store:
                return store[name]
        elif not name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}' "
                                 "(did its __init__ call super().__init__()?)")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call "
                                     "(call super().__init__() first)")
            self._remove(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(cunn.nn.Parameter or None expected)")
            params[name] = None
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call "
                                         "(call super().__init__() first)")
                self._remove(name, d, self._parameters, self._buffers)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{_typename(value)}' as child module "
                                    f"'{name}' (cunn.nn.Module or None expected)")
                modules[name] = None
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    value = _as_buffer(value)
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                        "(cunn.Tensor, NumPy array or None expected)")
                    buffers[name] = value
                else:
                    if name in _STRUCTURAL_ATTRIBUTES:
                        _hooks.structure_changed()
                    object.__setattr__(self, name, value)

    def _remove(self, name, *stores):
        for store in stores:
            store.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __delattr__(self, name):
        d = self.__dict__
        if "_parameters" in d:
            for store in (d["_parameters"], d["_buffers"], d["_modules"]):
                if name in store:
                    del store[name]
                    d["_non_persistent_buffers_set"].discard(name)
                    return
        if name in _STRUCTURAL_ATTRIBUTES:
            _hooks.structure_changed()
        object.__delattr__(self, name)

    def __dir__(self):
        keys = itertools.chain(super().__dir__(), self._parameters, self._buffers, self._modules)
        return sorted({key for key in keys if not key[:1].isdigit()})

    # ---- iteration ----

    def _named_members(self, members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in members(module):
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (module_prefix + "." + name if module_prefix else name), value

    def parameters(self, recurse=True):
        """The parameters of this module (and its descendants), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(name, parameter)`` pairs with PyTorch's dotted names, shared ones once."""
        return self._named_members(lambda module: module._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda module: module._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """This module and every descendant, depth first, each once (by default)."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + "." + name if prefix else name,
                                            remove_duplicate)

    def get_submodule(self, target):
        """The descendant named by a dotted path such as ``"features.0"``."""
        if target == "":
            return self
        module = self
        for item in target.split("."):
            child = module._modules.get(item) if isinstance(module, Module) else None
            if child is None:
                raise AttributeError(f"{module._get_name()} has no submodule `{item}` "
                                     f"(looking up '{target}')")
            module = child
        return module

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        param = module._parameters.get(name)
        if param is None:
            raise AttributeError(f"{module._get_name()} has no parameter `{name}`")
        return param

    # ---- modes and gradients ----

    def train(self, mode=True):
        """Sets training mode here and in every descendant; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"train: mode must be a bool, got {_typename(mode)}")
        self.training = bool(mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """Evaluation mode (Dropout off); same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clears the parameters' gradients (sets them to None, or zeroes them in place)."""
        for param in self.parameters():
            grad = param.grad
            if grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                copy_into(grad._data, 0, "zero_grad")

    def apply(self, fn):
        """Calls ``fn`` on every descendant (children first) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- devices and dtypes ----

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(cunn.float32)`` (cunn layers compute in float32), both, or
        ``to(tensor)`` (its device): parameters, their gradients and buffers move in place,
        as in PyTorch, so the Parameter objects stay the same and an optimizer made before
        keeps working. Returns self; another dtype is a ValueError, an absent GPU a
        RuntimeError."""
        kwargs.pop("non_blocking", None)
        unknown = set(kwargs) - {"device", "dtype"}
        if unknown:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(unknown)}")
        target = None
        for value in (*args, *kwargs.values()):
            if value is None:
                continue
            if isinstance(value, Tensor):
                target = value.device
                continue
            dtype = _dtype_or_none(value)
            if dtype is None and isinstance(value, (str, device)):
                target = check_device("to", value)  # RuntimeError for an absent GPU
                continue
            if dtype == np.float32:
                continue
            if dtype is not None:
                raise ValueError(f"to: cunn layers compute in float32; cannot convert "
                                 f"{self._get_name()} to {dtype}")
            raise ValueError(f"to: expected a device such as 'cpu' or 'cuda', or the dtype "
                             f"cunn.float32, got {value!r}")
        if target is not None:
            self._move_to(target)
        return self

    def _move_to(self, target):
        """Moves every parameter, gradient and buffer to the checked device ``target``,
        replacing each tensor's array in place."""
        for module in self.modules():
            for tensor in (*module._parameters.values(), *module._buffers.values()):
                if tensor is None or tensor.device == target:
                    continue  # absent, or shared with a module already moved
                tensor._data = transfer(tensor._data, target, "to")
                if tensor._grad is not None:
                    tensor._grad._data = transfer(tensor._grad._data, target, "to")
                mark_changed_in_place(tensor)  # a graph recorded before must not use it

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Moves the module to the GPU ``device`` (an index, "cuda:1" or a device; the
        current GPU by default); returns self."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        target = check_device("cuda", device)
        if target.type != "cuda":
            raise ValueError(f"cuda: expected a CUDA device, got {target}")
        return self.to(target)

    def float(self):
        return self

    def double(self):
        raise ValueError(f"double: cunn layers compute in float32; {self._get_name()} stays "
                         "float32 (gradient checks use the functional API in float64)")

    def half(self):
        raise ValueError(f"half: cunn layers compute in float32; {self._get_name()} stays "
                         "float32")

    # ---- state dicts ----

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else Tensor(param._data)
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else Tensor(buffer._data)

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer, PyTorch's names as keys,
        Tensors detached from autograd and sharing the module's storage as values."""
        if destination is None:
            destination = collections.OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copies ``state_dict``'s arrays (or Tensors) into this module's parameters and
        buffers, converting to their dtype, without rebinding them (so an optimizer made
        earlier keeps working). Everything is checked before anything is written: missing
        and unexpected keys are a ValueError when ``strict``, a wrong shape always is."""
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"load_state_dict: expected a dict (a state dict), got "
                            f"{_typename(state_dict)}")
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors, copies = [], []
        if strict:
            if missing:
                errors.append("Missing key(s) in state_dict: "
                              + ", ".join(f'"{key}"' for key in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{key}"' for key in unexpected) + ".")
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            source = value._data if isinstance(value, Tensor) else value
            if is_device_array(source):
                source = to_host(source)
            try:
                source = np.asarray(source)
            except Exception:  # noqa: BLE001 - anything np.asarray rejects is a bad value
                source = None
            destination = target._data
            if source is None or source.dtype.kind not in "biuf" or \
                    not np.can_cast(source.dtype, destination.dtype, "same_kind"):
                kind = _typename(value) if source is None else f"{_typename(value)} of dtype " \
                    f"{source.dtype}"
                errors.append(f"wrong type for {key}: expected a numeric array or Tensor "
                              f"convertible to {destination.dtype}, got {kind}.")
            elif source.shape != destination.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(source.shape)} from checkpoint, the shape in current "
                              f"model is {tuple(destination.shape)}.")
            else:
                copies.append((destination, source))
        if errors:
            raise ValueError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                             + "\n\t".join(errors))
        for destination, source in copies:
            if isinstance(destination, np.ndarray):
                if destination is not source:
                    np.copyto(destination, source, casting="same_kind")
            else:  # a module on the GPU: copied to the device, checked above
                copy_into(destination, source, "load_state_dict")
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ----

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside this module's parentheses; layers override it."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

    def _layer_text(self):
        """How error messages name this layer: its one-line repr."""
        return f"{self._get_name()}({self.extra_repr()})"
