"""cunn.nn.functional: the layers and losses as functions (PyTorch's signatures).

Each function checks its arguments here — dtypes, shapes, ranges, with messages that
name the function and the argument — and hands Tensors to cunn/ops, which records
the graph and calls the backend.
"""
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


def _floats(op, **named):
    """The named arguments as float32 Tensors (float64 too when every one is float64 and the
    backend is the NumPy reference, for gradient checks); TypeError otherwise."""
    tensors = []
    for name, value in named.items():
        if value is None:
            tensors.append(None)
            continue
        tensor = value if isinstance(value, Tensor) else as_tensor(value)
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
        if tensor is not None and (not isinstance(tensor, Tensor)
                                   or tensor._data.dtype != _FLOAT32):
            return False
    return True


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias over the last dim of input."""
    if not _all_float32(input, weight, bias):
        input, weight, bias = _floats("linear", input=input, weight=weight, bias=bias)
    if weight._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight._data.shape}")
    out_features, in_features = weight._data.shape
    if input._data.ndim == 0 or input._data.shape[-1] != in_features:
        raise ValueError(f"linear: input must have {in_features} features in its last dim, "
                         f"got shape {input._data.shape}")
    if bias is not None and bias._data.shape != (out_features,):
        raise ValueError(f"linear: bias must have shape ({out_features},), got "
                         f"{bias._data.shape}")
    if input._data.ndim == 1:
        return _linalg.linear(input.reshape(1, in_features), weight, bias).reshape(out_features)
    return _linalg.linear(input, weight, bias)


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation over NCHW input with weight (out, in, kh, kw)."""
    input, weight, bias = _floats("conv2d", input=input, weight=weight, bias=bias)
    if weight._data.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {weight._data.shape}")
    if input._data.ndim != 4:
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W), got shape "
                         f"{input._data.shape}" + (
                             "; add the batch dim with x.unsqueeze(0)" if input._data.ndim == 3
                             else ""))
    if input._data.shape[1] != weight._data.shape[1]:
        raise ValueError(f"conv2d: input has {input._data.shape[1]} channels but weight expects "
                         f"{weight._data.shape[1]} (input shape {input._data.shape}, weight "
                         f"shape {weight._data.shape})")
    if bias is not None and bias._data.shape != (weight._data.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight._data.shape[0]},), got "
                         f"{bias._data.shape}")
    stride = _pair("conv2d", "stride", stride, 1)
    padding = _pair("conv2d", "padding", padding, 0)
    kernel_h, kernel_w = weight._data.shape[2:]
    height, width = input._data.shape[2:]
    if height + 2 * padding[0] < kernel_h or width + 2 * padding[1] < kernel_w:
        raise ValueError(f"conv2d: kernel ({kernel_h}, {kernel_w}) is larger than the padded "
                         f"input ({height + 2 * padding[0]}, {width + 2 * padding[1]})")
    return _conv2d.conv2d(input, weight, bias, stride, padding)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Maximum over kernel_size windows of NCHW input (stride defaults to kernel_size)."""
    (input,) = _floats("max_pool2d", input=input)
    if input._data.ndim != 4:
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W), got shape "
                         f"{input._data.shape}")
    kernel_size = _pair("max_pool2d", "kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None else _pair("max_pool2d", "stride", stride, 1)
    padding = _pair("max_pool2d", "padding", padding, 0)
    return _pool.max_pool2d(input, kernel_size, stride, padding)


def relu(input, inplace=False):
    if not _all_float32(input):
        (input,) = _floats("relu", input=input)
    return _activation.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
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


def dropout(input, p=0.5, training=True, inplace=False):
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
    return as_tensor(input).flatten(start_dim, end_dim)


# ---- losses ----

def _labels(op, target, batch):
    target = target if isinstance(target, Tensor) else as_tensor(target)
    data = target._data
    if data.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices (int64), got "
                        f"{data.dtype}")
    if data.dtype != np.int64:
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


# ---- normalisation, average pooling, smooth activations, embedding (issue 16) ----

from cunn.ops import avg_pool as _avg_pool  # noqa: E402
from cunn.ops import embedding as _embedding  # noqa: E402
from cunn.ops import normalization as _normalization  # noqa: E402
from cunn.ops import smooth_activation as _smooth_activation  # noqa: E402

__all__ += ["avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "embedding",
            "one_hot", "elu", "gelu", "silu", "softplus", "dropout2d"]


def _number(op, name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _channel_vector(op, name, value, channels):
    if value is None:
        return None
    (value,) = _floats(op, **{name: value})
    if value._data.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},) (one per channel of the "
                         f"input), got {value._data.shape}")
    return value


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalises each channel of input (N, C, *) by the batch's statistics (``training``, or
    no running statistics given) or by the running ones, then scales and shifts; in training
    the running statistics, when given, are updated in place."""
    op = "batch_norm"
    (input,) = _floats(op, input=input)
    if input._data.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, *) with at least 2 dims, got shape "
                         f"{input._data.shape}")
    channels = input._data.shape[1]
    running_mean = _channel_vector(op, "running_mean", running_mean, channels)
    running_var = _channel_vector(op, "running_var", running_var, channels)
    weight = _channel_vector(op, "weight", weight, channels)
    bias = _channel_vector(op, "bias", bias, channels)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be given or both None")
    eps = _number(op, "eps", eps)
    if eps < 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")
    momentum = _number(op, "momentum", momentum)
    if training:
        per_channel = input._data.size // channels if channels else 0
        if per_channel <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input of shape {input._data.shape}")
    elif running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var must be given when "
                         "training=False")
    return _normalization.batch_norm(input, running_mean, running_var, weight, bias,
                                     bool(training), momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises input over its trailing ``normalized_shape`` dims, then scales and shifts
    elementwise by weight and bias (each of normalized_shape)."""
    op = "layer_norm"
    input, weight, bias = _floats(op, input=input, weight=weight, bias=bias)
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (int(normalized_shape),)
    try:
        normalized_shape = tuple(int(size) for size in normalized_shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    shape = input._data.shape
    count = len(normalized_shape)
    if count == 0 or shape[len(shape) - count:] != normalized_shape or count > len(shape):
        raise ValueError(f"{op}: input's trailing dims must be normalized_shape "
                         f"{normalized_shape}, got input of shape {shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value._data.shape != normalized_shape:
            raise ValueError(f"{op}: {name} must have shape {normalized_shape}, got "
                             f"{value._data.shape}")
    eps = _number(op, "eps", eps)
    return _normalization.layer_norm(input, normalized_shape, weight, bias, eps)


def _images(op, input):
    """input as float32 (N, C, H, W); a 3-D (C, H, W) input is returned with a batch axis
    and True (squeeze the result)."""
    (input,) = _floats(op, input=input)
    ndim = input._data.ndim
    if ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape "
                         f"{input._data.shape}")
    return (input.unsqueeze(0), True) if ndim == 3 else (input, False)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over kernel_size windows of NCHW input (stride defaults to kernel_size; padding
    counts as zeros in the mean unless count_include_pad=False)."""
    op = "avg_pool2d"
    input, unbatched = _images(op, input)
    kernel_size = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None or stride == [] else _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    if ceil_mode or divisor_override is not None:
        raise ValueError(f"{op}: ceil_mode=True and divisor_override are not supported")
    if 2 * padding[0] > kernel_size[0] or 2 * padding[1] > kernel_size[1]:
        raise ValueError(f"{op}: padding must be at most half the kernel size, got padding "
                         f"{padding} for kernel_size {kernel_size}")
    height, width = input._data.shape[2:]
    if height + 2 * padding[0] < kernel_size[0] or width + 2 * padding[1] < kernel_size[1]:
        raise ValueError(f"{op}: kernel {kernel_size} is larger than the padded input "
                         f"({height + 2 * padding[0]}, {width + 2 * padding[1]})")
    out = _avg_pool.avg_pool2d(input, kernel_size, stride, padding, bool(count_include_pad))
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows so the output is ``output_size`` (an int, a pair;
    None in the pair keeps that input size)."""
    op = "adaptive_avg_pool2d"
    input, unbatched = _images(op, input)
    height, width = input._data.shape[2:]
    if height == 0 or width == 0:
        raise ValueError(f"{op}: input must have non-empty planes, got shape "
                         f"{input._data.shape}")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(size if size is not None else default
                            for size, default in zip(output_size, (height, width)))
    output_size = _pair(op, "output_size", output_size, 1)
    out = _avg_pool.adaptive_avg_pool2d(input, output_size)
    return out.squeeze(0) if unbatched else out


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of weight (num_embeddings, embedding_dim) at the integer indices ``input``."""
    op = "embedding"
    indices = input._data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: input must hold integer indices (int64), got {indices.dtype}")
    (weight,) = _floats(op, weight=weight)
    if weight._data.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{weight._data.shape}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ValueError(f"{op}: max_norm, scale_grad_by_freq and sparse are not supported")
    num_embeddings = weight._data.shape[0]
    indices = np.asarray(indices, dtype=np.int64, order="C")  # stays 0-d when 0-d
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        bad = indices[(indices < 0) | (indices >= num_embeddings)].flat[0]
        raise IndexError(f"{op}: index {bad} out of range for {num_embeddings} embeddings")
    if padding_idx is None:
        padding = -1
    else:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
            raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"{op}: padding_idx must be within num_embeddings "
                             f"({num_embeddings}), got {padding_idx}")
        padding = int(padding_idx) % num_embeddings
    return _embedding.embedding(indices, weight, padding)


def one_hot(tensor, num_classes=-1):
    """int64 (*, num_classes) with a 1 at each index (num_classes=-1: max index + 1)."""
    indices = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices (int64), got "
                        f"{indices.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor((indices[..., None] == np.arange(num_classes)).astype(np.int64))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    (input,) = _floats("gelu", input=input)
    return _smooth_activation.gelu(input, approximate)


def elu(input, alpha=1.0, inplace=False):
    (input,) = _floats("elu", input=input)
    return _smooth_activation.elu(input, _number("elu", "alpha", alpha))


def silu(input, inplace=False):
    (input,) = _floats("silu", input=input)
    return _smooth_activation.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    (input,) = _floats("softplus", input=input)
    beta = _number("softplus", "beta", beta)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return _smooth_activation.softplus(input, beta, _number("softplus", "threshold", threshold))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of input (N, C, H, W) (or (N, C, L)) with probability p and
    scales the rest by 1/(1-p) in training."""
    (input,) = _floats("dropout2d", input=input)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout2d: p must be a probability in [0, 1], got {p!r}")
    if input._data.ndim not in (3, 4):
        raise ValueError(f"dropout2d: input must be 3-D or 4-D (N, C, ...), got shape "
                         f"{input._data.shape}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    return _dropout.dropout2d(input, float(p))
