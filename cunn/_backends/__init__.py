"""The kernel backend registry: the one place that knows which backends exist and which is active.

``"cpu"`` is the compiled C++ module (cunn._C), ``"numpy"`` the pure-NumPy reference that
computes the same functions. Ops call ``current().<kernel>``; the contract every backend meets is
in ``interface.py``. The public names (``cunn.available_backends`` and friends) are re-exported
from here; ``cunn.backends`` is PyTorch's unrelated namespace (``mps``, ``cudnn``).
"""
import contextlib
import importlib

# Fastest first: the default backend is the first one that loads.
_MODULES = {"cpu": "cunn._backends.cpu", "numpy": "cunn._backends.numpy_ref"}
_loaded = {}
_current = None


def _load(name):
    if name not in _loaded:
        _loaded[name] = importlib.import_module(_MODULES[name])
    return _loaded[name]


def available_backends():
    """Names of the backends usable in this process, fastest first; each one ``use_backend`` accepts."""
    names = []
    for name in _MODULES:
        try:
            _load(name)
        except ImportError:
            continue
        names.append(name)
    return names


def get(name):
    """The backend module called ``name``; ValueError for an unknown or unusable one."""
    if not isinstance(name, str):
        raise TypeError(f"backend: name must be a str, got {type(name).__name__}")
    if name not in _MODULES:
        raise ValueError(f"backend: unknown backend {name!r}; available: "
                         + ", ".join(available_backends()))
    try:
        return _load(name)
    except ImportError as error:
        raise ValueError(f"backend: {name!r} is not available ({error})") from error


def current():
    """The backend module ops dispatch to now."""
    global _current
    if _current is None:
        _current = get(available_backends()[0])
    return _current


def current_backend():
    """The name of the active backend ("cpu", "numpy")."""
    return current().NAME


def use_backend(name):
    """Switch every op to backend ``name`` ("cpu", "numpy")."""
    global _current
    _current = get(name)


@contextlib.contextmanager
def backend(name):
    """``with cunn.backend("numpy"):`` runs the block on another backend."""
    global _current
    previous = current()
    _current = get(name)
    try:
        yield _current
    finally:
        _current = previous
