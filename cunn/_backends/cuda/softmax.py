"""softmax and log_softmax along a dim on the cuda backend: x viewed as (outer, length,
inner) around the dim, so no transpose is needed for any dim."""
import math

from cunn._backends.cuda._common import device, empty

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


def _layout(op, shape, dim):
    """(outer, length, inner) of ``shape`` around ``dim`` (a 0-d input is one element)."""
    rank = max(len(shape), 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dim {dim} out of range for a {len(shape)}-D input")
    if not shape:
        return 1, 1, 1
    dim %= rank
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


def _forward(op, x, dim, log):
    x = device(op, x, "x")
    outer, length, inner = _layout(op, x.shape, dim)
    out = empty(x.shape)
    if x.size:
        x.runtime.softmax_forward(out.ptr, x.ptr, outer, length, inner, log)
    return out


def _backward(op, grad_output, output, dim, log):
    grad_output = device(op, grad_output, "grad_output")
    output = device(op, output, "output")
    outer, length, inner = _layout(op, output.shape, dim)
    grad_input = empty(output.shape)
    if output.size:
        output.runtime.softmax_backward(grad_input.ptr, grad_output.ptr, output.ptr, outer,
                                        length, inner, log)
    return grad_input


def softmax_forward(x, dim):
    return _forward("softmax", x, dim, False)


def softmax_backward(grad_output, output, dim):
    return _backward("softmax", grad_output, output, dim, False)


def log_softmax_forward(x, dim):
    return _forward("log_softmax", x, dim, True)


def log_softmax_backward(grad_output, output, dim):
    return _backward("log_softmax", grad_output, output, dim, True)
