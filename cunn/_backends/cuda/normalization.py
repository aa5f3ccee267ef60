"""Batch and layer normalisation on the cuda backend: the runtime's kernels over x viewed
as (N, C, inner) for batch norm and (rows, cols) for layer norm."""
import math

from cunn._backends.cuda._common import device, empty, optional

__all__ = ["batch_norm_statistics", "batch_norm_forward", "batch_norm_backward",
           "layer_norm_forward", "layer_norm_backward"]


def _by_channel(x):
    """(n, c, inner) of x (N, C, *)."""
    if x.ndim < 2:
        raise ValueError(f"batch_norm: x must be (N, C, *), got shape {x.shape}")
    return x.shape[0], x.shape[1], math.prod(x.shape[2:])


def _channels(op, value, name, channels, required=True):
    value = device(op, value, name) if required else optional(op, value, name)
    if value is not None and value.size != channels:
        raise ValueError(f"{op}: {name} must have {channels} entries, got shape {value.shape}")
    return value


def _pointer(array):
    return 0 if array is None else array.ptr


def batch_norm_statistics(x):
    x = device("batch_norm", x, "x")
    n, c, inner = _by_channel(x)
    mean, var = empty((c,)), empty((c,))
    if c:
        x.runtime.batch_norm_statistics(mean.ptr, var.ptr, x.ptr, n, c, inner)
    return mean, var


def batch_norm_forward(x, mean, var, weight, bias, eps):
    x = device("batch_norm", x, "x")
    n, c, inner = _by_channel(x)
    mean, var = _channels("batch_norm", mean, "mean", c), _channels("batch_norm", var, "var", c)
    weight = _channels("batch_norm", weight, "weight", c, False)
    bias = _channels("batch_norm", bias, "bias", c, False)
    out, invstd = empty(x.shape), empty((c,))
    if c:
        x.runtime.batch_norm_forward(out.ptr, invstd.ptr, x.ptr, mean.ptr, var.ptr,
                                     _pointer(weight), _pointer(bias), n, c, inner, float(eps))
    return out, invstd


def batch_norm_backward(grad_output, x, mean, invstd, weight, batch_statistics):
    x = device("batch_norm", x, "x")
    grad_output = device("batch_norm", grad_output, "grad_output")
    n, c, inner = _by_channel(x)
    mean = _channels("batch_norm", mean, "mean", c)
    invstd = _channels("batch_norm", invstd, "invstd", c)
    weight = _channels("batch_norm", weight, "weight", c, False)
    grad_x, grad_weight, grad_bias = empty(x.shape), empty((c,)), empty((c,))
    if c:
        x.runtime.batch_norm_backward(grad_x.ptr, grad_weight.ptr, grad_bias.ptr,
                                      grad_output.ptr, x.ptr, mean.ptr, invstd.ptr,
                                      _pointer(weight), n, c, inner, bool(batch_statistics))
    return grad_x, grad_weight, grad_bias


def _rows(x, normalized_shape):
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape or x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ValueError(f"layer_norm: x's trailing dims must be normalized_shape "
                         f"{normalized_shape}, got shape {x.shape}")
    cols = math.prod(normalized_shape)
    return x.size // cols if cols else math.prod(x.shape[:x.ndim - len(normalized_shape)]), cols


def layer_norm_forward(x, normalized_shape, weight, bias, eps):
    x = device("layer_norm", x, "x")
    rows, cols = _rows(x, normalized_shape)
    weight = _channels("layer_norm", weight, "weight", cols, False)
    bias = _channels("layer_norm", bias, "bias", cols, False)
    out, mean, invstd = empty(x.shape), empty((rows,)), empty((rows,))
    if rows:
        x.runtime.layer_norm_forward(out.ptr, mean.ptr, invstd.ptr, x.ptr, _pointer(weight),
                                     _pointer(bias), rows, cols, float(eps))
    return out, mean, invstd


def layer_norm_backward(grad_output, x, mean, invstd, weight, normalized_shape):
    x = device("layer_norm", x, "x")
    grad_output = device("layer_norm", grad_output, "grad_output")
    rows, cols = _rows(x, normalized_shape)
    mean = _channels("layer_norm", mean, "mean", rows)
    invstd = _channels("layer_norm", invstd, "invstd", rows)
    weight = _channels("layer_norm", weight, "weight", cols, False)
    shape = tuple(normalized_shape)
    grad_x, grad_weight, grad_bias = empty(x.shape), empty(shape), empty(shape)
    if rows:
        x.runtime.layer_norm_backward(grad_x.ptr, grad_weight.ptr, grad_bias.ptr,
                                      grad_output.ptr, x.ptr, mean.ptr, invstd.ptr,
                                      _pointer(weight), rows, cols)
    else:
        grad_weight.fill(0)
        grad_bias.fill(0)
    return grad_x, grad_weight, grad_bias
