"""The CUDA runtime the cuda backend calls: ``cunn._C.cuda`` (device memory and kernels,
pointers as ints, bound in csrc/bindings/bind_cuda_*.cpp) or an object with the same
functions installed by ``use_runtime``: the tests install SimulatedRuntime
(tests/cuda_simulated/runtime.py), which restates every one of them in NumPy."""
__all__ = ["runtime", "use_runtime", "is_available", "set_num_threads", "get_num_threads"]

_installed = None
_compiled_runtime = None  # cunn._C.cuda once it has been found usable


def _compiled():
    try:
        from cunn import _C
    except ImportError as error:
        raise RuntimeError(f"CUDA is not available: cunn's compiled module did not load "
                           f"({error})") from None
    if not _C.cuda_built():
        raise RuntimeError("CUDA is not available: cunn was built without CUDA (rebuild with "
                           "pip install . -Ccmake.define.CUNN_CUDA=ON on a machine with nvcc)")
    if _C.cuda_device_count() == 0:
        raise RuntimeError("CUDA is not available: cunn was built with CUDA but no GPU was "
                           "found (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
    return _C.cuda


def runtime():
    """The runtime device arrays and kernels call; RuntimeError saying why when CUDA is
    not available."""
    global _compiled_runtime
    if _installed is not None:
        return _installed
    if _compiled_runtime is None:  # checked once: every allocation asks
        _compiled_runtime = _compiled()
    return _compiled_runtime


def is_available():
    """Whether ``runtime()`` would return a runtime rather than raise."""
    try:
        runtime()
    except RuntimeError:
        return False
    return True


def use_runtime(obj):
    """Makes ``obj`` (anything with ``cunn._C.cuda``'s functions) the runtime; None goes
    back to the compiled one. Returns the runtime installed before, for restoring it."""
    global _installed
    previous = _installed
    _installed = obj
    return previous


def _host_backend():
    from cunn import _backends
    return _backends.get("cpu" if "cpu" in _backends.available_backends() else "numpy")


def set_num_threads(threads):
    """The host thread count (the contract's runtime family): the CPU backend's, as the
    GPU's parallelism is not set by threads."""
    _host_backend().set_num_threads(threads)


def get_num_threads():
    return _host_backend().get_num_threads()
