"""``cunn.set_num_threads`` / ``get_num_threads``: the kernel thread count, kept by the
compiled module (its thread pool, or serial) when it is built, by the NumPy reference otherwise."""
import numpy as np

__all__ = ["set_num_threads", "get_num_threads"]


def _compiled():
    try:
        from cunn import _C
    except ImportError:
        return None
    return _C


def set_num_threads(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    from cunn._backends.numpy_ref import runtime

    runtime.set_num_threads(int(n))
    compiled = _compiled()
    if compiled is not None:
        compiled.set_num_threads(int(n))


def get_num_threads():
    compiled = _compiled()
    if compiled is not None:
        return int(compiled.get_num_threads())
    from cunn._backends.numpy_ref import runtime

    return runtime.get_num_threads()
