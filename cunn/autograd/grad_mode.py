"""Whether ops record the graph: ``no_grad`` / ``enable_grad`` as context managers and decorators."""
import functools

_state = {"enabled": True}


def is_grad_enabled():
    return _state["enabled"]


class _GradMode:
    """Sets grad mode for a block (``with``) or for every call of a function (decorator,
    with or without parentheses: ``@no_grad()`` and ``@no_grad``)."""
    mode = True

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls is not set_grad_enabled:
            return object.__new__(cls)(args[0])
        return object.__new__(cls)

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


class inference_mode(_GradMode):  # noqa: N801
    """Like ``no_grad`` (cunn keeps no extra autograd bookkeeping to skip);
    ``inference_mode(False)`` leaves grad mode as it is."""

    def __init__(self, mode=True):
        if callable(mode):  # used as a bare decorator: __new__ already wrapped the function
            return
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool, got {type(mode).__name__}")
        self.inference = mode

    def __enter__(self):
        self._previous = _state["enabled"]
        if self.inference:
            _state["enabled"] = False
        _inference[0] += self.inference
        return self

    def __exit__(self, *exc_info):
        _state["enabled"] = self._previous
        _inference[0] -= self.inference
        return False

    def __call__(self, function):
        inference = getattr(self, "inference", True)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with inference_mode(inference):
                return function(*args, **kwargs)
        return wrapper


# How many inference_mode(True) blocks are open.
_inference = [0]


def is_inference_mode_enabled():
    return _inference[0] > 0
