"""cunn.nn.functional: the layers and losses as functions (PyTorch's signatures).

Each function checks its arguments here — dtypes, shapes, ranges, with messages that
name the function and the argument — and hands Tensors to cunn/ops, which records
the graph and calls the backend.
"""
import math

import numpy as np

from cunn._tensor import Tensor
from cunn.ops import activation as _activation
from cunn.ops import conv2d as _conv2d
from cunn.ops import dropout as _dropout
from cunn.ops import linalg as _linalg
from cunn.ops import loss as _loss
from cunn.ops import pool as _pool
from cunn.ops import softmax as _softmax
from cunn.ops import _util
from cunn.ops._util import as_tensor

__all__ = ["linear", "conv2d", "max_pool2d", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
           "log_softmax", "dropout", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "flatten"]

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)


def _tensor(op, name, value):
    """``value`` as a Tensor; None (or anything that is not data) is a TypeError naming the
    argument, not an AttributeError deep inside the op."""
    if isinstance(value, Tensor):
        return value
    if value is None:
        raise TypeError(f"{op}: {name} must be a Tensor or a NumPy array, got None")
    return as_tensor(value)


def _floats(op, optional=(), **named):
    """The named arguments as float32 Tensors (float64 too when every one is float64 and the
    backend is the NumPy reference, for gradient checks); TypeError otherwise. Only the
    names in ``optional`` may be None."""
    tensors = []
    for name, value in named.items():
        if value is None and name in optional:
            tensors.append(None)
            continue
        tensor = _tensor(op, name, value)
        if tensor._data.dtype != _FLOAT32:
            present = [t for t in named.values() if t is not None]
            all_float64 = all(isinstance(t, Tensor) and t._data.dtype == _FLOAT64
                              for t in present)
            if not (all_float64 and _util.kernels().NAME == "numpy"):
                raise TypeError(f"{op}: {name} must be float32, got {tensor._data.dtype}"
                                + (" (call .float() on it)" if tensor._data.dtype.kind in "fiub"
                                   else ""))
        tensors.append(tensor)
    return tensors


def _reduction(op, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _pair(op, name, value, minimum):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        first, second = value
        pair = (int(first), int(second))
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None
    if pair != tuple(value) or min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be ints >= {minimum}, got {value!r}")
    return pair


# ---- layers ----

def _all_float32(*tensors):
    """The common case, checked without building argument dicts: Tensors of float32."""
    for tensor in tensors:
        if not isinstance(tensor, Tensor) or tensor._data.dtype != _FLOAT32:
            return False
    return True


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias over the last dim of input."""
    if not (_all_float32(input, weight) and (bias is None or _all_float32(bias))):
        input, weight, bias = _floats("linear", ("bias",), input=input, weight=weight,
                                      bias=bias)
    if weight._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight._data.shape}")
    out_features, in_features = weight._data.shape
    if input._data.ndim == 0 or input._data.shape[-1] != in_features:
        raise ValueError(_linear_input_message(input._data.shape, weight._data.shape,
                                               bias is not None))
    if bias is not None and bias._data.shape != (out_features,):
        raise ValueError(f"linear: bias must have shape ({out_features},), got "
                         f"{bias._data.shape}")
    if input._data.ndim == 1:
        return _linalg.linear(input.reshape(1, in_features), weight, bias).reshape(out_features)
    return _linalg.linear(input, weight, bias)


def _linear_input_message(shape, weight_shape, has_bias):
    """What is wrong with an input of ``shape`` for this weight, and the likely fix."""
    out_features, in_features = weight_shape
    head = (f"linear: input must have {in_features} features in its last dim (weight "
            f"{weight_shape}, as in Linear(in_features={in_features}, "
            f"out_features={out_features}, bias={has_bias})), got input of shape {shape}")
    if len(shape) == 0:
        return head + " (a 0-d input)"
    if len(shape) >= 3:
        features = math.prod(shape[1:])
        if features == in_features:
            return (head + f". Its per-sample dimensions {shape[1:]} hold {features} values:"
                    " did you forget nn.Flatten() (or x.view(x.size(0), -1)) before this "
                    "layer?")
        return (head + ". Linear acts on the last dimension; to flatten each sample use "
                f"nn.Flatten() (or x.view(x.size(0), -1)), which gives {features} features "
                f"here, so in_features would have to be {features}")
    return head + " (check in_features against the previous layer's output size)"


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation over NCHW input with weight (out, in, kh, kw)."""
    input, weight, bias = _floats("conv2d", ("bias",), input=input, weight=weight, bias=bias)
    if weight._data.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {weight._data.shape}")
    if bias is not None and bias._data.shape != (weight._data.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight._data.shape[0]},), got "
                         f"{bias._data.shape}")
    stride = _pair("conv2d", "stride", stride, 1)
    padding = _pair("conv2d", "padding", padding, 0)
    shape = input._data.shape
    out_channels, in_channels, kernel_h, kernel_w = weight._data.shape

    def layer():  # built only for an error: the message names the equivalent Conv2d
        return (f"conv2d (weight {weight._data.shape}, as in Conv2d({in_channels}, "
                f"{out_channels}, kernel_size={(kernel_h, kernel_w)}, stride={stride}, "
                f"padding={padding}))")

    if len(shape) != 4:
        raise ValueError(f"{layer()}: expected a 4-D input (N, C, H, W), got a {len(shape)}-D "
                         f"input of shape {shape}{_nchw_hint(shape, in_channels)}")
    if shape[1] != in_channels:
        hint = ("; the input looks channels-last (NHWC): use x.permute(0, 3, 1, 2)"
                if shape[3] == in_channels else "")
        raise ValueError(f"{layer()}: expected input with in_channels={in_channels} channels "
                         f"in dimension 1 (N, C, H, W), got {shape[1]} channels in an input of "
                         f"shape {shape}{hint}")
    _check_window(layer, shape, (kernel_h, kernel_w), padding)
    return _conv2d.conv2d(input, weight, bias, stride, padding)


def _nchw_hint(shape, in_channels):
    """How a 2-D or 3-D input likely becomes the (N, C, H, W) that conv2d needs (a pool
    passes in_channels=None)."""
    if len(shape) == 3:
        hints = []
        if in_channels == 1:
            hints.append("for a batch of single-channel images add the channel axis with "
                         "x.unsqueeze(1)")
        if in_channels is None or shape[0] == in_channels:
            hints.append("for a single image add the batch axis with x.unsqueeze(0)")
        return "; " + ", or ".join(hints) if hints else "; Conv2d needs a batch dimension"
    if len(shape) == 2 and in_channels is not None:
        return "; for flattened images restore them with x.view(-1, C, H, W)"
    return ""


def _check_window(layer, shape, kernel, padding):
    """ValueError unless the kernel fits in the padded (N, C, H, W) ``shape``."""
    padded = (shape[2] + 2 * padding[0], shape[3] + 2 * padding[1])
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        raise ValueError(f"{layer()}: the padded input is {padded[0]}x{padded[1]} (input of "
                         f"shape {shape}), smaller than the kernel {kernel[0]}x{kernel[1]}")


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Maximum over kernel_size windows of NCHW input (stride defaults to kernel_size)."""
    (input,) = _floats("max_pool2d", input=input)
    kernel = _pair("max_pool2d", "kernel_size", kernel_size, 1)
    strides = kernel if stride is None else _pair("max_pool2d", "stride", stride, 1)
    pads = _pair("max_pool2d", "padding", padding, 0)
    shape = input._data.shape

    def layer():  # built only for an error: the message names the equivalent MaxPool2d
        return (f"max_pool2d (as in MaxPool2d(kernel_size={kernel_size}, "
                f"stride={kernel_size if stride is None else stride}, padding={padding}))")

    if pads[0] * 2 > kernel[0] or pads[1] * 2 > kernel[1]:
        raise ValueError(f"{layer()}: padding must be at most half the kernel size")
    if len(shape) != 4:
        raise ValueError(f"{layer()}: expected a 4-D input (N, C, H, W), got a {len(shape)}-D "
                         f"input of shape {shape}{_nchw_hint(shape, None)}")
    _check_window(layer, shape, kernel, pads)
    return _pool.max_pool2d(input, kernel, strides, pads)


def relu(input):
    if not _all_float32(input):
        (input,) = _floats("relu", input=input)
    return _activation.relu(input)


def leaky_relu(input, negative_slope=0.01):
    (input,) = _floats("leaky_relu", input=input)
    return _activation.leaky_relu(input, float(negative_slope))


def sigmoid(input):
    (input,) = _floats("sigmoid", input=input)
    return _activation.sigmoid(input)


def tanh(input):
    (input,) = _floats("tanh", input=input)
    return _activation.tanh(input)


def _softmax_dim(op, dim, ndim):
    if dim is None:  # PyTorch's legacy choice when no dim is given
        return 0 if ndim in (0, 1, 3) else 1
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dim {dim} out of range for a {ndim}-D input")
    return int(dim) % rank


def softmax(input, dim=None):
    (input,) = _floats("softmax", input=input)
    return _softmax.softmax(input, _softmax_dim("softmax", dim, input._data.ndim))


def log_softmax(input, dim=None):
    (input,) = _floats("log_softmax", input=input)
    return _softmax.log_softmax(input, _softmax_dim("log_softmax", dim, input._data.ndim))


def dropout(input, p=0.5, training=True):
    """Zeroes each element with probability p and scales the rest by 1/(1-p) in training."""
    (input,) = _floats("dropout", input=input)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    return _dropout.dropout(input, float(p))


def flatten(input, start_dim=0, end_dim=-1):
    return _tensor("flatten", "input", input).flatten(start_dim, end_dim)


# ---- losses ----

def _labels(op, target, batch):
    target = _tensor(op, "target", target)
    data = target._data
    if data.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices (int64), got "
                        f"{data.dtype}")
    if data.dtype != np.int64:  # also a non-native byte order, which the kernels misread
        target = Tensor(data.astype(np.int64))
    if target._data.shape != (batch,):
        raise ValueError(f"{op}: target must have shape ({batch},) to match the input's batch, "
                         f"got {target._data.shape}")
    return target


def _class_scores(op, name, input):
    if not _all_float32(input):
        (input,) = _floats(op, **{name: input})
    if input._data.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D (batch, classes), got shape "
                         f"{input._data.shape}")
    return input


def cross_entropy(input, target, reduction="mean"):
    """Cross-entropy of logits (N, C) against int64 class indices (N,), fused with
    log-softmax."""
    _reduction("cross_entropy", reduction)
    input = _class_scores("cross_entropy", "input", input)
    target = _labels("cross_entropy", target, input._data.shape[0])
    return _loss.cross_entropy(input, target, reduction)


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) at int64 class indices (N,)."""
    _reduction("nll_loss", reduction)
    input = _class_scores("nll_loss", "input", input)
    target = _labels("nll_loss", target, input._data.shape[0])
    return _loss.nll_loss(input, target, reduction)


def _same_shape(op, input, target):
    input, target = _floats(op, input=input, target=target)
    if input._data.shape != target._data.shape:
        raise ValueError(f"{op}: target shape {target._data.shape} must equal input shape "
                         f"{input._data.shape}")
    return input, target


def mse_loss(input, target, reduction="mean"):
    _reduction("mse_loss", reduction)
    input, target = _same_shape("mse_loss", input, target)
    return _loss.mse_loss(input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    _reduction("l1_loss", reduction)
    input, target = _same_shape("l1_loss", input, target)
    return _loss.l1_loss(input, target, reduction)


def binary_cross_entropy(input, target, reduction="mean"):
    """BCE of probabilities in [0, 1] (log clamped at -100, as PyTorch)."""
    _reduction("binary_cross_entropy", reduction)
    input, target = _same_shape("binary_cross_entropy", input, target)
    return _loss.binary_cross_entropy(input, target, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """BCE of sigmoid(input), computed stably from the logits."""
    _reduction("binary_cross_entropy_with_logits", reduction)
    input, target = _same_shape("binary_cross_entropy_with_logits", input, target)
    return _loss.binary_cross_entropy_with_logits(input, target, reduction)
