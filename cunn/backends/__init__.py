"""Kernel backends and the switch between them.

``"cpu"`` is the compiled C++ module (cunn._C), ``"numpy"`` the pure-NumPy
reference that computes the same functions. Ops call ``current().<kernel>``;
the contract every backend meets is in ``interface.py``.
"""
import contextlib
import importlib

_MODULES = {"cpu": "cunn.backends.cpu", "numpy": "cunn.backends.numpy_ref"}
_loaded = {}
_current = None


def _load(name):
    if name not in _loaded:
        _loaded[name] = importlib.import_module(_MODULES[name])
    return _loaded[name]


def _cuda_usable():
    try:
        from cunn import _C
    except ImportError:
        return False
    return bool(_C.cuda_built()) and _C.cuda_device_count() > 0


def backends():
    """Names of the backends usable in this process, fastest first."""
    names = []
    if _cuda_usable():
        names.append("cuda")
    try:
        _load("cpu")
        names.append("cpu")
    except ImportError:
        pass
    names.append("numpy")
    return names


def get(name):
    """The backend module called ``name``; ValueError for an unknown or unusable one."""
    if not isinstance(name, str):
        raise TypeError(f"backend: name must be a str, got {type(name).__name__}")
    if name == "cuda":
        raise ValueError("backend: 'cuda' is not available (cunn was built without CUDA "
                         "or no GPU is present); available: " + ", ".join(backends()))
    if name not in _MODULES:
        raise ValueError(f"backend: unknown backend {name!r}; available: "
                         + ", ".join(backends()))
    try:
        return _load(name)
    except ImportError as error:
        raise ValueError(f"backend: {name!r} is not available ({error})") from error


def current():
    """The backend ops dispatch to now."""
    global _current
    if _current is None:
        _current = get(backends()[0] if "cpu" in backends() else "numpy")
    return _current


def current_name():
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
