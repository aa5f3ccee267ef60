"""``cunn.cuda``: PyTorch's ``torch.cuda`` functions, answered by the CUDA runtime.

The runtime is ``cunn._C.cuda`` in a build with ``-Ccmake.define.CUNN_CUDA=ON`` on a machine
with a GPU (or the NumPy simulator the tests install). ``is_available()`` and
``device_count()`` never raise; the other functions raise RuntimeError when CUDA is absent.
"""
import importlib

from cunn.device import cuda_runtime, device as _device

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize",
           "get_device_name", "memory_stats", "memory_allocated", "memory_reserved",
           "empty_cache", "manual_seed", "manual_seed_all"]


def _runtime_or_none():
    try:
        return cuda_runtime("cuda")
    except RuntimeError:
        return None


def device_count():
    """The number of GPUs cunn can use (0 without a CUDA build or a GPU)."""
    runtime = _runtime_or_none()
    return 0 if runtime is None else int(runtime.device_count())


def is_available():
    """Whether cunn was built with CUDA and a GPU is present."""
    return device_count() > 0


def current_device():
    return int(cuda_runtime("current_device").current_device())


def _index(op, which):
    """The index of the GPU ``which`` names (the current one for None); RuntimeError naming
    ``op`` when CUDA is absent or the device does not exist."""
    runtime = cuda_runtime(op)
    if which is None:
        return int(runtime.current_device())
    if isinstance(which, int) and not isinstance(which, bool):
        which = _device("cuda", which)
    chosen = _device(which)
    if chosen.type != "cuda":
        raise ValueError(f"{op}: expected a CUDA device, got {chosen}")
    count = int(runtime.device_count())
    index = int(runtime.current_device()) if chosen.index is None else chosen.index
    if not 0 <= index < count:
        raise RuntimeError(f"{op}: invalid device {str(chosen)!r}: this machine has {count} "
                           f"CUDA device(s), cuda:0 to cuda:{count - 1}")
    return index


def set_device(which):
    """Makes ``which`` (an index, "cuda:1" or a device) the device "cuda" means."""
    cuda_runtime("set_device").set_device(_index("set_device", which))


def synchronize(which=None):
    """Waits until every kernel launched so far has finished (kernels run asynchronously)."""
    _index("synchronize", which)
    cuda_runtime("synchronize").synchronize()


def get_device_name(which=None):
    return str(cuda_runtime("get_device_name").device_name(_index("get_device_name", which)))


def memory_stats(which=None):
    """The caching allocator's counters: allocated_bytes (held by live arrays),
    reserved_bytes (also the cached blocks), device_malloc_calls, cache_hits."""
    _index("memory_stats", which)
    return dict(cuda_runtime("memory_stats").memory_stats())


def memory_allocated(which=None):
    """Bytes of GPU memory held by live arrays."""
    return int(memory_stats(which)["allocated_bytes"])


def memory_reserved(which=None):
    """Bytes the caching allocator holds from the GPU (live arrays and cached blocks)."""
    return int(memory_stats(which)["reserved_bytes"])


def empty_cache():
    """Returns the cached, unused blocks to the GPU (live arrays stay)."""
    cuda_runtime("empty_cache").empty_cache()


def manual_seed(seed):
    """Seeds cunn's one random source, which GPU tensors draw from as well."""
    importlib.import_module("cunn.random").manual_seed(seed)


manual_seed_all = manual_seed
