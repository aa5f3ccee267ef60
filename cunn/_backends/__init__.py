"""The kernel backend registry: the one place that knows which backends exist and which is active.

``"cpu"`` is the compiled C++ module (cunn._C), ``"numpy"`` the pure-NumPy reference that
computes the same functions. Ops call ``current().<kernel>``; the contract every backend meets is
in ``interface.py``. The public names (``cunn.available_backends`` and friends) are re-exported
from here; ``cunn.backends`` is PyTorch's unrelated namespace (``mps``, ``cudnn``).

``"cuda"`` (cunn/_backends/cuda) is listed only when it was built and a GPU is present. It
computes on GPU arrays, so choosing it does not move host work: ``use_backend("cuda")`` makes
new tensors default to the GPU (``default_device()``) while host arrays keep the host
backend that ``current()`` returns.
"""
import contextlib
import importlib

# Host backends fastest first (the default is the first one that loads); "cuda" last, as it
# computes only on GPU arrays.
_MODULES = {"cpu": "cunn._backends.cpu", "numpy": "cunn._backends.numpy_ref",
            "cuda": "cunn._backends.cuda"}
_loaded = {}
_current = None
_default_device = None  # a cunn.device while "cuda" is the chosen backend, else None


def _load(name):
    if name not in _loaded:
        _loaded[name] = importlib.import_module(_MODULES[name])
    return _loaded[name]


def available_backends():
    """Names of the backends usable in this process, fastest first; each one ``use_backend`` accepts."""
    names = []
    for name in _MODULES:
        try:
            if name == "cuda" and not importlib.import_module("cunn.cuda").is_available():
                continue
            _load(name)
        except ImportError:
            continue
        names.append(name)
    return names


def _cuda_device(op):
    """The current GPU as a device; RuntimeError (from cunn.device) when there is none."""
    return importlib.import_module("cunn.device").check_device(op, "cuda")


def default_device():
    """Where factories put new tensors when no device is given: None (the CPU) unless
    ``use_backend("cuda")`` is in force."""
    return _default_device


def get(name):
    """The backend module called ``name``; ValueError for an unknown or unusable one
    (RuntimeError for "cuda" without a CUDA build or a GPU)."""
    if not isinstance(name, str):
        raise TypeError(f"backend: name must be a str, got {type(name).__name__}")
    if name not in _MODULES:
        raise ValueError(f"backend: unknown backend {name!r}; available: "
                         + ", ".join(available_backends()))
    if name == "cuda":
        _cuda_device("backend")  # CUDA asked for where absent: RuntimeError, as for tensors
    try:
        return _load(name)
    except ImportError as error:
        raise ValueError(f"backend: {name!r} is not available ({error})") from error


def current():
    """The backend module ops dispatch host (NumPy) arrays to now."""
    global _current
    if _current is None:
        _current = get(available_backends()[0])
    return _current


def current_backend():
    """The name of the active backend ("cpu", "numpy", "cuda")."""
    return "cuda" if _default_device is not None else current().NAME


def _select(name):
    """Makes ``name`` the active backend; returns the module."""
    global _current, _default_device
    module = get(name)
    if name == "cuda":
        _default_device = _cuda_device("use_backend")
        current()  # host arrays keep the host backend
    else:
        _current, _default_device = module, None
    return module


def use_backend(name):
    """Switch every op to backend ``name`` ("cpu", "numpy"); "cuda" makes new tensors
    default to the current GPU (ops on GPU tensors always run the CUDA kernels)."""
    _select(name)


@contextlib.contextmanager
def backend(name):
    """``with cunn.backend("numpy"):`` runs the block on another backend."""
    global _current, _default_device
    previous = current(), _default_device
    try:
        yield _select(name)
    finally:
        _current, _default_device = previous
