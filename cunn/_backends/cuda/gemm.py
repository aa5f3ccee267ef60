"""gemm family on the cuda backend: the runtime's GEMM (a transposed operand is read in
place through the trans flag), bias_add and bias_grad."""
import math

from cunn._backends.cuda import ufuncs
from cunn._backends.cuda._common import FLOAT32, device, empty, optional
from cunn._backends.cuda.array import DeviceArray

__all__ = ["gemm", "linear_forward", "linear_backward", "bias_grad"]


def _matrix(op, array, name):
    """A float32 2-D device array, kept as it is (transposed views need no copy)."""
    if not isinstance(array, DeviceArray) or array.dtype != FLOAT32:
        array = device(op, array, name)  # raises the mixed-device or dtype error
    if array.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D, got shape {array.shape}")
    return array


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    a, b = _matrix("gemm", a, "a"), _matrix("gemm", b, "b")
    return ufuncs.gemm(a, b, trans_a, trans_b, alpha, beta, out)


def linear_forward(x, weight, bias):
    x, weight = _matrix("linear", x, "x"), _matrix("linear", weight, "weight")
    bias = optional("linear", bias, "bias")
    out = ufuncs.gemm(x, weight, False, True)
    if bias is not None and out.size:
        out.runtime.bias_add(out.ptr, bias.ptr, out.shape[0], out.shape[1], 1)
    return out


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    grad_output = _matrix("linear_backward", grad_output, "grad_output")
    grad_x = ufuncs.gemm(grad_output, _matrix("linear_backward", weight, "weight")) \
        if need_x else None
    grad_weight = ufuncs.gemm(grad_output, _matrix("linear_backward", x, "x"), True, False) \
        if need_weight else None
    grad_bias = bias_grad(grad_output, 1) if need_bias else None
    return grad_x, grad_weight, grad_bias


def bias_grad(grad_output, axis):
    grad_output = device("bias_grad", grad_output, "grad_output")
    if not -grad_output.ndim <= axis < grad_output.ndim:
        raise IndexError(f"bias_grad: axis {axis} out of range for a {grad_output.ndim}-D "
                         "grad_output")
    axis %= grad_output.ndim
    shape = grad_output.shape
    outer, channels, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    out = empty((channels,))
    if channels:
        if outer * inner:
            out.runtime.bias_grad(out.ptr, grad_output.ptr, outer, channels, inner)
        else:
            out.fill(0)
    return out
