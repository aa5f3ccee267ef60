"""matmul and linear (x @ W^T + b), on the backend's gemm, linear_forward and linear_backward.

linear's backward, for x (N, in), W (out, in) and g = dL/dy (N, out):
dx = g·W, dW = gᵀ·x, db = Σ_N g. Inputs with more than two dims are flattened to rows.
"""
import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops

from cunn.autograd.function import Function, product_operands
from cunn.device import check_same_device
from cunn.ops._util import as_tensor, kernels_for, unbroadcast

__all__ = ["matmul", "linear"]

_FLOAT32 = np.dtype(np.float32)


class LinearBackward(Function):
    __slots__ = ()
    checked_inputs = product_operands
    fresh_gradients = True  # the backend kernels' new arrays

    def backward(self, grad_output):
        x, weight, _ = self.inputs
        data = x._data
        rows = data if data.ndim == 2 else data.reshape(-1, data.shape[-1])
        grad_rows = grad_output if grad_output.ndim == 2 else \
            grad_output.reshape(-1, grad_output.shape[-1])
        need_x, need_weight, need_bias = self.needs_input_grad
        grad_x, grad_weight, grad_bias = kernels_for(grad_rows).linear_backward(
            grad_rows, rows, weight._data, need_x, need_weight, need_bias)
        if grad_x is not None and data.ndim != 2:
            grad_x = grad_x.reshape(data.shape)
        return grad_x, grad_weight, grad_bias


def linear(x, weight, bias=None):
    """y = x @ weight.T + bias; checks are the caller's (nn.functional.linear)."""
    data = x._data
    rows = data if data.ndim == 2 else data.reshape(-1, data.shape[-1])
    out = kernels_for(data).linear_forward(
        rows, weight._data, None if bias is None else bias._data)
    if data.ndim != 2:
        out = out.reshape(data.shape[:-1] + (weight._data.shape[0],))
    return LinearBackward.record(out, (x, weight, bias))


class MatmulBackward(Function):
    __slots__ = ()
    checked_inputs = product_operands

    def backward(self, grad_output):
        a, b = self.inputs
        x, y = a._data, b._data
        kernels = kernels_for(grad_output)
        if x.ndim == 2 and y.ndim == 2:
            grad_a = kernels.gemm(grad_output, y, False, True) if self.needs_input_grad[0] else None
            grad_b = kernels.gemm(x, grad_output, True, False) if self.needs_input_grad[1] else None
            return grad_a, grad_b
        # Vectors and batches: NumPy's matmul rules, with 1-D operands promoted and dropped.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g = grad_output
        if x.ndim == 1:
            g = np.expand_dims(g, -2)
        if y.ndim == 1:
            g = np.expand_dims(g, -1)
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = unbroadcast(np.matmul(g, np.swapaxes(y2, -1, -2)), x2.shape)
            grad_a = grad_a.reshape(x.shape)
        if self.needs_input_grad[1]:
            grad_b = unbroadcast(np.matmul(np.swapaxes(x2, -1, -2), g), y2.shape)
            grad_b = grad_b.reshape(y.shape)
        return grad_a, grad_b


def _matmul_operand(value, other):
    """``value`` as a Tensor. A float32 ndarray is wrapped without a copy (a 64x784 by
    784x128 product spent a third of its time copying its operands) unless the other
    operand requires grad: the graph would then keep the array, and a later in-place
    change to it would go unseen by the version checks."""
    if isinstance(value, _tensor.Tensor):
        return value
    if type(value) is np.ndarray and value.dtype == _FLOAT32 and not (
            isinstance(other, _tensor.Tensor) and other.requires_grad):
        return _tensor.Tensor(value)
    return as_tensor(value)


def matmul(a, b):
    a, b = _matmul_operand(a, b), _matmul_operand(b, a)
    x, y = a._data, b._data
    if type(x) is not type(y):
        check_same_device("matmul", x, y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: both arguments must be at least 1-D, got shapes "
                         f"{x.shape} and {y.shape}")
    if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} cannot be multiplied "
                         f"({x.shape[-1]} != {y.shape[-2 if y.ndim > 1 else 0]})")
    if x.dtype != y.dtype:
        raise TypeError(f"matmul: both arguments must have one dtype, got {x.dtype} and {y.dtype}")
    if x.ndim == 2 and y.ndim == 2 and x.dtype.kind == "f":
        out = kernels_for(x).gemm(x, y)
    else:
        out = np.matmul(x, y)
    return MatmulBackward.record(out, (a, b))
