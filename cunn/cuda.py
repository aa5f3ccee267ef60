"""``cunn.cuda.is_available()``: whether the optional CUDA kernels were built and a GPU is present."""

__all__ = ["is_available", "device_count"]


def device_count():
    try:
        from cunn import _C
    except ImportError:
        return 0
    return int(_C.cuda_device_count()) if _C.cuda_built() else 0


def is_available():
    return device_count() > 0
