"""Forward hooks and forward pre-hooks, with PyTorch's semantics.

A module keeps its hooks in ``_forward_pre_hooks`` / ``_forward_hooks`` dicts that exist
only once a hook was registered, so ``Module.__call__`` stays a direct call of
``forward`` for modules without hooks. A pre-hook ``hook(module, args)`` may return a
replacement input (a tuple, or one value that becomes a 1-tuple); a forward hook
``hook(module, args, output)`` may return a replacement output. With
``with_kwargs=True`` the keyword arguments are passed as well (and a pre-hook returns
``(args, kwargs)``).
"""
import itertools

__all__ = ["RemovableHandle", "register", "call_with_hooks", "has_hooks", "structure_version",
           "structure_changed"]

_ids = itertools.count()

# Advanced whenever a hook is added or removed, or a module's forward or class replaced
# (Module.__setattr__ / __delattr__): nn.Sequential keeps which of its modules it fuses
# until this changes (_fusion.py).
structure_version = [0]


def structure_changed():
    structure_version[0] += 1

PRE_HOOKS = "_forward_pre_hooks"
HOOKS = "_forward_hooks"
_WITH_KWARGS = "_forward_hooks_with_kwargs"


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``remove()`` takes the hook off (also on
    leaving a ``with`` block)."""

    def __init__(self, hooks, options):
        self.id = next(_ids)
        self._hooks = hooks
        self._options = options

    def remove(self):
        self._hooks.pop(self.id, None)
        self._options.pop(self.id, None)
        structure_changed()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def register(module, store, hook, prepend, with_kwargs):
    if not callable(hook):
        raise TypeError(f"{type(module).__name__}: a hook must be callable, "
                        f"got {type(hook).__name__}")
    d = module.__dict__
    if store not in d:
        object.__setattr__(module, store, {})
    if _WITH_KWARGS not in d:
        object.__setattr__(module, _WITH_KWARGS, {})
    hooks = d[store]
    structure_changed()
    handle = RemovableHandle(hooks, d[_WITH_KWARGS])
    hooks[handle.id] = hook
    if prepend:
        hooks_in_order = {handle.id: hook, **hooks}
        hooks.clear()
        hooks.update(hooks_in_order)
    if with_kwargs:
        d[_WITH_KWARGS][handle.id] = True
    return handle


def has_hooks(module):
    d = module.__dict__
    return bool(d.get(PRE_HOOKS) or d.get(HOOKS))


def call_with_hooks(module, args, kwargs):
    d = module.__dict__
    with_kwargs = d.get(_WITH_KWARGS, {})
    for hook_id, hook in list(d.get(PRE_HOOKS, {}).items()):
        if hook_id in with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result!r}")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    output = module.forward(*args, **kwargs)
    for hook_id, hook in list(d.get(HOOKS, {}).items()):
        if hook_id in with_kwargs:
            result = hook(module, args, kwargs, output)
        else:
            result = hook(module, args, output)
        if result is not None:
            output = result
    return output
