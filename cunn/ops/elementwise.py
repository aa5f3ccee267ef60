"""Arithmetic with broadcasting (+ - * / **) and the pointwise functions exp, log, sqrt,
abs, clamp, each with its gradient.

float32 goes to the backend's add/sub/mul/div kernels; float64 to the NumPy reference
(gradient checks); integer and bool tensors never require grad and use NumPy directly.
The unary functions are single NumPy ufuncs on every backend: the kernel contract keeps
its primitive set small.
"""
import numpy as np

from cunn import _tensor  # the Tensor class; a module reference, as _tensor imports the ops

from cunn.autograd.function import Function, product_operands
from cunn.device import check_same_device
from cunn.ops._util import FLOAT_DTYPES, DeviceArray, as_tensor, kernels_for, unbroadcast
from cunn.ops._util import kernels as current_kernels

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "clamp"]

_FLOAT32 = np.dtype(np.float32)


def _operands(a, b, op):
    """Both operands as Tensors and their arrays in the common dtype (PyTorch promotion:
    a Python number takes the tensor's dtype, int with float gives the float); both on
    one device (RuntimeError naming ``op`` and the two devices otherwise)."""
    if isinstance(a, _tensor.Tensor):
        b = as_tensor(b, like=a)
    else:
        a = as_tensor(a, like=b)
    x, y = a._data, b._data
    if type(x) is not type(y):  # the host path pays this one comparison
        check_same_device(op, x, y)
    if x.dtype != y.dtype:
        if x.dtype.kind == "f" and y.dtype.kind != "f":
            dtype = x.dtype
        elif y.dtype.kind == "f" and x.dtype.kind != "f":
            dtype = y.dtype
        else:
            dtype = np.promote_types(x.dtype, y.dtype)
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    return a, b, x, y


class AddBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        a, b = self.inputs
        return unbroadcast(grad_output, a._data.shape), unbroadcast(grad_output, b._data.shape)


class SubBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        a, b = self.inputs
        grad_b = unbroadcast(np.negative(grad_output), b._data.shape) \
            if self.needs_input_grad[1] else None
        return unbroadcast(grad_output, a._data.shape), grad_b


class MulBackward(Function):
    __slots__ = ()
    checked_inputs = product_operands

    def backward(self, grad_output):
        a, b = self.inputs
        x, y = self.saved
        kernels = kernels_for(grad_output)
        grad_a = unbroadcast(kernels.mul(grad_output, y), a._data.shape) \
            if self.needs_input_grad[0] else None
        grad_b = unbroadcast(kernels.mul(grad_output, x), b._data.shape) \
            if self.needs_input_grad[1] else None
        return grad_a, grad_b


class DivBackward(Function):
    __slots__ = ()
    checked_inputs = (1,)
    saves_output = True

    def backward(self, grad_output):
        a, b = self.inputs
        y, output = self.saved
        kernels = kernels_for(grad_output)
        grad_a = kernels.div(grad_output, y)
        grad_b = None
        if self.needs_input_grad[1]:
            grad_b = unbroadcast(np.negative(kernels.mul(grad_a, output)), b._data.shape)
        return unbroadcast(grad_a, a._data.shape) if self.needs_input_grad[0] else None, grad_b


def _binary_op(kernel_name, numpy_function, node, saves_operands):
    """The broadcasting op (add, sub, mul) that runs the backend's ``kernel_name`` kernel
    on float32 (``numpy_function`` on integers) and records a ``node``, which keeps the
    two operand arrays when ``saves_operands``."""
    def op(a, b):
        tensor = _tensor.Tensor
        if type(a) is tensor and type(b) is tensor:
            # Two float32 Tensors in host memory, the common case, skip the conversions,
            # promotion and device checks (kernels_for's too): for a 1-element add they
            # cost a third of the op.
            x, y = a._data, b._data
            if type(x) is np.ndarray and type(y) is np.ndarray and x.dtype is _FLOAT32 \
                    and y.dtype is _FLOAT32:
                out = getattr(current_kernels(), kernel_name)(x, y)
                return node.record(out, (a, b), x, y) if saves_operands else \
                    node.record(out, (a, b))
        a, b, x, y = _operands(a, b, kernel_name)
        if x.dtype in FLOAT_DTYPES:
            out = getattr(kernels_for(y if type(y) is DeviceArray else x), kernel_name)(x, y)
        else:
            out = numpy_function(x, y)
        return node.record(out, (a, b), x, y) if saves_operands else node.record(out, (a, b))

    op.__name__ = op.__qualname__ = kernel_name
    return op


add = _binary_op("add", np.add, AddBackward, False)
sub = _binary_op("sub", np.subtract, SubBackward, False)
mul = _binary_op("mul", np.multiply, MulBackward, True)


def div(a, b):
    a, b, x, y = _operands(a, b, "div")
    if x.dtype.kind != "f":  # true division of integers gives floats, as in PyTorch
        x, y = x.astype(np.float32), y.astype(np.float32)
    out = kernels_for(y if type(y) is DeviceArray else x).div(x, y)
    return DivBackward.record(out, (a, b), y, out)


class PowBackward(Function):
    __slots__ = ()
    saves_output = True

    def backward(self, grad_output):
        x, y, output = self.saved
        a, b = self.inputs
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                grad_a = unbroadcast(grad_output * y * np.power(x, y - 1), a._data.shape)
            if self.needs_input_grad[1]:
                grad_b = unbroadcast(grad_output * output * np.log(x), b._data.shape)
        return grad_a, grad_b


def pow(a, b):  # noqa: A001  (PyTorch's name)
    a, b, x, y = _operands(a, b, "pow")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.power(x, y)
    return PowBackward.record(out, (a, b), x, y, out)


class _UnaryBackward(Function):
    """A pointwise function whose gradient is grad_output times ``derivative(x, output)``."""
    __slots__ = ()
    saves_output = True

    def backward(self, grad_output):
        x, output = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad_output * self.derivative(x, output).astype(grad_output.dtype, copy=False),)


class NegBackward(_UnaryBackward):
    __slots__ = ()

    def backward(self, grad_output):
        return (np.negative(grad_output),)


class ExpBackward(_UnaryBackward):
    __slots__ = ()

    @staticmethod
    def derivative(x, output):
        return output


class LogBackward(_UnaryBackward):
    __slots__ = ()

    @staticmethod
    def derivative(x, output):
        return 1 / x


class SqrtBackward(_UnaryBackward):
    __slots__ = ()

    @staticmethod
    def derivative(x, output):
        return 0.5 / output


class AbsBackward(_UnaryBackward):
    __slots__ = ()

    @staticmethod
    def derivative(x, output):
        return np.sign(x)


class ClampBackward(_UnaryBackward):
    __slots__ = ()
    checked_inputs = ()
    saves_output = False

    def backward(self, grad_output):
        (inside,) = self.saved
        return (np.where(inside, grad_output, grad_output.dtype.type(0)),)


def _unary(numpy_function, function, x):
    x = as_tensor(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = numpy_function(x._data)
    if out.dtype.kind != "f" and numpy_function in (np.exp, np.log, np.sqrt):
        out = out.astype(np.float32)
    return function.record(out, (x,), x._data, out)


def neg(x):
    return _unary(np.negative, NegBackward, x)


def exp(x):
    return _unary(np.exp, ExpBackward, x)


def log(x):
    return _unary(np.log, LogBackward, x)


def sqrt(x):
    return _unary(np.sqrt, SqrtBackward, x)


def abs(x):  # noqa: A001
    return _unary(np.abs, AbsBackward, x)


def clamp(x, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
    x = as_tensor(x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    data = x._data
    out = np.clip(data, min, max)
    if out.dtype != data.dtype:
        out = out.astype(data.dtype)
    inside = data == data if min is None else data >= min  # a mask on data's device
    if max is not None:
        inside &= data <= max
    return ClampBackward.record(out, (x,), inside)
