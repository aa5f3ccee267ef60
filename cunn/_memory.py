"""Arrays whose data starts on a cache-line (64-byte) boundary, for weights and optimizer state.

NumPy aligns data to 16 bytes. A kernel's 64-byte vector loads from a row that starts
mid-line each touch two cache lines, and when both operands of a product are off the line
(MNIST batches from np.load are) the MNIST MLP's first layer runs about 10% slower. Inputs
are the caller's; the long-lived arrays cunn allocates itself start on a line.
"""
import numpy as np

__all__ = ["aligned_empty", "aligned_zeros"]

_LINE = 64


def aligned_empty(shape, dtype=np.float32):
    """An uninitialised C-contiguous array of ``shape`` whose data starts on a 64-byte
    boundary: a view into a buffer up to one line longer."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    buffer = np.empty(count * dtype.itemsize + _LINE, dtype=np.uint8)
    start = -buffer.ctypes.data % _LINE
    return buffer[start:start + count * dtype.itemsize].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype=np.float32):
    array = aligned_empty(shape, dtype)
    array.fill(0)
    return array
