"""Containers: Sequential (a chain), ModuleList (a list) and ModuleDict (a dict) of
registered sub-modules, with PyTorch's indexing, naming and printing."""
import collections.abc
import operator

from cunn.nn.modules import _fusion
from cunn.nn.modules.module import Module, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _index(container, idx):
    """``idx`` (an int, negative counting from the end) as a position, else IndexError."""
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, got "
                        f"{type(idx).__name__}") from None
    size = len(container)
    if not -size <= idx < size:
        raise IndexError(f"{type(container).__name__}: index {idx} is out of range for "
                         f"length {size}")
    return idx % size


def _renumber(container):
    container.__dict__["_modules"] = dict(
        (str(i), module) for i, module in enumerate(container._modules.values()))


class _NumberedModules(Module):
    """What Sequential and ModuleList share: children held in order, deleted by position
    (those after are renumbered), counted, iterated and popped."""

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(self, idx)]]):
            delattr(self, key)
        _renumber(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def pop(self, idx=-1):
        module = self[idx]
        del self[idx]
        return module

    def __dir__(self):
        # The numbered children are items, not attributes to list.
        return [key for key in super().__dir__() if not key.isdigit()]


class Sequential(_NumberedModules):
    """``Sequential(*modules)`` or ``Sequential(OrderedDict(name=module, ...))``: forward
    feeds each module's output to the next."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], collections.abc.Mapping):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        # Runs of Linear and ReLU modules go through one op (_fusion.py); the rest module
        # by module. The plan of which is which is kept in this module's __dict__.
        return _fusion.run_modules(self._modules.values(), input, self.__dict__)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            # As PyTorch: a slice keeps the original names.
            return type(self)(collections.OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(self, idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(self, idx)]
        setattr(self, key, module)

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: can only add a Sequential, got {type(other).__name__}")
        result = Sequential()
        for module in [*self, *other]:
            result.append(module)
        return result

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: can only add a Sequential, got {type(other).__name__}")
        return self.extend(other)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: expected a Module, got {type(module).__name__}")
        size = len(self)
        if not -size <= index <= size:
            raise IndexError(f"Sequential.insert: index {index} is out of range for length {size}")
        index = index + size if index < 0 else index
        modules = list(self._modules.values())
        modules.insert(index, module)
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(modules)}
        return self


class ModuleList(_NumberedModules):
    """A list of sub-modules (registered as ``0``, ``1``, ...); it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(self, idx))]

    def __setitem__(self, idx, module):
        setattr(self, str(_index(self, idx)), module)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        result = ModuleList()
        for module in [*self, *other]:
            result.append(module)
        return result

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if not isinstance(modules, collections.abc.Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable of modules, "
                            f"got {type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.insert: expected a Module, got {type(module).__name__}")
        modules = list(self._modules.values())
        modules.insert(operator.index(index), module)  # list semantics, negatives included
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(modules)}

    def __repr__(self):
        # PyTorch's compressed form: runs of identical entries print once as "(i-j): n x ...".
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [start, end, text]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = []
        for start, end, text in runs:
            line = f"({start}): {text}" if start == end else \
                f"({start}-{end}): {end - start + 1} x {text}"
            lines.append(_addindent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of sub-modules with string keys; it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Adds the (name, module) pairs of a mapping or an iterable of pairs, in order."""
        if isinstance(modules, (collections.abc.Mapping, ModuleDict)):
            pairs = list(modules.items())
        elif isinstance(modules, collections.abc.Iterable):
            pairs = []
            for i, pair in enumerate(modules):
                if not isinstance(pair, collections.abc.Iterable) or isinstance(pair, str):
                    raise TypeError(f"ModuleDict.update: element #{i} should be a (name, module) "
                                    f"pair, got {type(pair).__name__}")
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(f"ModuleDict.update: element #{i} has length {len(pair)}; "
                                     "2 is required")
                pairs.append(pair)
        else:
            raise TypeError("ModuleDict.update should be called with a mapping or an iterable "
                            f"of (name, module) pairs, got {type(modules).__name__}")
        for key, module in pairs:
            self[key] = module
