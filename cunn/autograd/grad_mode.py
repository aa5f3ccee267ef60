"""Whether ops record the graph: ``no_grad`` / ``enable_grad`` as context managers and decorators."""
import functools

_state = {"enabled": True}


def is_grad_enabled():
    return _state["enabled"]


class _GradMode:
    """Sets grad mode for a block (``with``) or for every call of a function (decorator)."""
    mode = True

    def __enter__(self):
        self._previous = _state["enabled"]
        _state["enabled"] = self.mode
        return self

    def __exit__(self, *exc_info):
        _state["enabled"] = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Ops inside record nothing: results do not require grad."""
    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Turns recording back on inside a no_grad block."""
    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """``set_grad_enabled(False)`` as a context manager, or called alone to switch."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = _state["enabled"]
        _state["enabled"] = self.mode

    def __enter__(self):
        return self

    def __call__(self, function):
        mode = self.mode
        _state["enabled"] = self._previous

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)
        return wrapper
