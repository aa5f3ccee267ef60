"""conv2d kernels: not written yet."""

__all__ = []
