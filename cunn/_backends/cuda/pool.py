"""2-D max pooling (NCHW) on the cuda backend: the runtime's kernels over the N*C planes;
indices are h * W + w in each input plane, as PyTorch.

The runtime's backward gathers, for each input, over the windows that cover it (no atomics,
so deterministic); it needs the window, which the contract's backward does not pass. So the
forward's indices remember the window they came from (PoolIndices). Indices from anywhere
else are scattered through embedding_backward over the flattened planes instead.
"""
import numpy as np

from cunn._backends.cuda._common import INT64, device, empty, ufunc
from cunn._backends.cuda.array import DeviceArray, to_device
from cunn._backends.numpy_ref.pool import _pool_output_size

__all__ = ["max_pool2d_forward", "max_pool2d_backward"]


class PoolIndices(DeviceArray):
    """max_pool2d's int64 indices and the (kernel_size, stride, padding) that made them."""
    __slots__ = ("window",)


def max_pool2d_forward(x, kernel_size, stride, padding):
    x = device("max_pool2d", x, "x")
    if x.ndim != 4:
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    batch, channels, height, width = x.shape
    out_h, out_w = _pool_output_size(height, width, kernel_size, stride, padding)
    output = empty((batch, channels, out_h, out_w))
    storage = empty((batch, channels, out_h, out_w), INT64)
    indices = PoolIndices(storage._storage, storage.shape, INT64)
    indices.window = (tuple(kernel_size), tuple(stride), tuple(padding))
    if output.size:
        x.runtime.max_pool2d_forward(output.ptr, indices.ptr, x.ptr, batch * channels, height,
                                     width, out_h, out_w, *kernel_size, *stride, *padding)
    return output, indices


def max_pool2d_backward(grad_output, indices, input_shape):
    grad_output = device("max_pool2d", grad_output, "grad_output")
    window = getattr(indices, "window", None)
    indices = device("max_pool2d", indices, "indices", INT64)
    if indices.shape != grad_output.shape:
        raise ValueError(f"max_pool2d: indices must have grad_output's shape {grad_output.shape}, "
                         f"got {indices.shape}")
    batch, channels, height, width = input_shape
    if window is None:
        return _scatter(grad_output, indices, input_shape)
    grad_input = empty(tuple(input_shape))
    if grad_input.size:
        out_h, out_w = grad_output.shape[2:]
        kernel_size, stride, padding = window
        grad_input.runtime.max_pool2d_backward(
            grad_input.ptr, grad_output.ptr, indices.ptr, batch * channels, height, width,
            out_h, out_w, *kernel_size, *stride, *padding)
    return grad_input


def _scatter(grad_output, indices, input_shape):
    """grad_input[plane, index] += grad_output over the flattened planes."""
    batch, channels, height, width = input_shape
    planes, plane_size = batch * channels, height * width
    grad_input = empty(tuple(input_shape))
    if grad_input.size:
        offsets = to_device(np.arange(planes, dtype=np.int64).reshape(planes, 1) * plane_size)
        flat = ufunc(np.add, indices.reshape(planes, -1), offsets)
        grad_input.runtime.embedding_backward(grad_input.ptr, grad_output.ptr, flat.ptr,
                                              flat.size, planes * plane_size, 1, -1)
    return grad_input
