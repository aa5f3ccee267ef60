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
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "flatten",
           "smooth_l1_loss", "huber_loss", "kl_div", "one_hot"]

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


def _classes_last(op, input, target):
    """PyTorch's other layouts of a class loss as (rows, classes): an unbatched (C,) input
    with a 0-d target, and (N, C, d1, ...) with targets (N, d1, ...) or probabilities of
    the input's shape. Returns the 2-D input, the target, and the shape a 'none' loss
    takes back (None for the plain 2-D case)."""
    if not _all_float32(input):
        (input,) = _floats(op, input=input)
    ndim = input._data.ndim
    if ndim == 2:
        return input, target, None
    if ndim == 0:
        raise ValueError(f"{op}: input must be (batch, classes), (classes,) or "
                         "(batch, classes, d1, ...), got a 0-d tensor")
    target = target if isinstance(target, Tensor) else as_tensor(target)
    probabilities = target._data.dtype.kind == "f"
    if ndim == 1:
        expected = input._data.shape if probabilities else ()
        if target._data.shape != expected:
            raise ValueError(f"{op}: for an unbatched input of shape {input._data.shape} the "
                             f"target must have shape {expected}, got {target._data.shape}")
        target = target.reshape(1, -1) if probabilities else Tensor(target._data.reshape(1))
        return input.reshape(1, -1), target, ()
    batch, classes, spatial = input._data.shape[0], input._data.shape[1], input._data.shape[2:]
    classes_last = (0, *range(2, ndim), 1)
    if probabilities:
        if target._data.shape != input._data.shape:
            raise ValueError(f"{op}: target probabilities must have the input's shape "
                             f"{input._data.shape}, got {target._data.shape}")
        target = target.permute(*classes_last).reshape(-1, classes)
    else:
        if target._data.shape != (batch, *spatial):
            raise ValueError(f"{op}: target must have shape {(batch, *spatial)} for an input "
                             f"of shape {input._data.shape}, got {target._data.shape}")
        target = Tensor(target._data.reshape(-1))
    return input.permute(*classes_last).reshape(-1, classes), target, (batch, *spatial)


def _restore_shape(loss, shape, reduction):
    if shape is None or reduction != "none":
        return loss
    return loss.reshape(shape) if shape else loss.reshape(())


def _legacy_reduction(op, size_average, reduce, reduction):
    """PyTorch's deprecated size_average / reduce, when given, decide the reduction."""
    if size_average is None and reduce is None:
        return _reduction(op, reduction)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _class_weight(op, weight, classes):
    """``weight`` as a float32 (classes,) array, or None."""
    if weight is None:
        return None
    (weight,) = _floats(op, weight=weight)
    if weight._data.shape != (classes,):
        raise ValueError(f"{op}: weight must have one value per class, shape ({classes},), "
                         f"got {weight._data.shape}")
    return np.ascontiguousarray(weight._data)


def _ignore_index(op, ignore_index):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}")
    return int(ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits (N, C) against int64 class indices (N,) or class
    probabilities (N, C), fused with log-softmax; per-class ``weight``, ``ignore_index``
    (left out of the mean's denominator) and ``label_smoothing`` as PyTorch. (C,) and
    (N, C, d1, ...) inputs work as in PyTorch."""
    op = "cross_entropy"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    input, target, none_shape = _classes_last(op, input, target)
    input = _class_scores(op, "input", input)
    batch, classes = input._data.shape
    options = {}
    weight = _class_weight(op, weight, classes)
    if weight is not None:
        options["weight"] = weight
    ignore_index = _ignore_index(op, ignore_index)
    if ignore_index != -100:
        options["ignore_index"] = ignore_index
    try:
        label_smoothing = float(label_smoothing)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: label_smoothing must be a number, got "
                        f"{type(label_smoothing).__name__}") from None
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if label_smoothing:
        options["label_smoothing"] = label_smoothing
    target_data = target._data if isinstance(target, Tensor) else np.asarray(target)
    if target_data.dtype.kind == "f":
        (target,) = _floats(op, target=target)
        if target._data.dtype != input._data.dtype:
            raise TypeError(f"{op}: target probabilities must have the input's dtype "
                            f"{input._data.dtype}, got {target._data.dtype}")
        if target._data.shape != (batch, classes):
            raise ValueError(f"{op}: target probabilities must have the input's shape "
                             f"{(batch, classes)}, got {target._data.shape}")
    else:
        # The kernels check the range (labels in [0, classes) or == ignore_index) as they
        # read them: a second pass here would cost as much as the loss on small batches.
        target = _labels(op, target, batch)
    return _restore_shape(_loss.cross_entropy(input, target, reduction, **options), none_shape,
                          reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) at int64 class indices (N,);
    with ``weight``, mean divides by the summed weights of the targets not ignored."""
    op = "nll_loss"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    input, target, none_shape = _classes_last(op, input, target)
    input = _class_scores(op, "input", input)
    batch, classes = input._data.shape
    options = {}
    weight = _class_weight(op, weight, classes)
    if weight is not None:
        options["weight"] = weight
    ignore_index = _ignore_index(op, ignore_index)
    if ignore_index != -100:
        options["ignore_index"] = ignore_index
    target = _labels(op, target, batch)  # the range is checked by the kernels
    return _restore_shape(_loss.nll_loss(input, target, reduction, **options), none_shape,
                          reduction)


def _same_shape(op, input, target):
    input, target = _floats(op, input=input, target=target)
    if input._data.shape != target._data.shape:
        raise ValueError(f"{op}: target shape {target._data.shape} must equal input shape "
                         f"{input._data.shape}")
    return input, target


def _elementwise_option(op, name, value, input):
    """``value`` broadcast to the input's shape as a contiguous array, or None."""
    if value is None:
        return None
    (value,) = _floats(op, **{name: value})
    try:
        expanded = np.broadcast_to(value._data, input._data.shape)
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {value._data.shape} does not broadcast to "
                         f"the input's shape {input._data.shape}") from None
    return np.ascontiguousarray(expanded, dtype=input._data.dtype)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    input, target = _same_shape("mse_loss", input, target)
    return _loss.mse_loss(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy_reduction("l1_loss", size_average, reduce, reduction)
    input, target = _same_shape("l1_loss", input, target)
    return _loss.l1_loss(input, target, reduction)


def _non_negative(op, name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}") from None
    if not value >= 0.0:
        raise ValueError(f"{op}: {name} must be >= 0, got {value}")
    return value


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (l1_loss at beta = 0)."""
    op = "smooth_l1_loss"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    beta = _non_negative(op, "beta", beta)
    input, target = _same_shape(op, input, target)
    if beta == 0.0:
        return _loss.l1_loss(input, target, reduction)
    return _loss.smooth_l1_loss(input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""
    op = "huber_loss"
    _reduction(op, reduction)
    delta = _non_negative(op, "delta", delta)
    if delta == 0.0:
        raise ValueError(f"{op}: delta must be > 0, got {delta}")
    input, target = _same_shape(op, input, target)
    return _loss.huber_loss(input, target, reduction, delta)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of ``target`` from the log-probabilities ``input``: target (log target
    - input); 'batchmean' divides the sum by the batch size (the true KL divergence),
    'mean' by the number of elements, as PyTorch."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(op, size_average, reduce, reduction)
    elif reduction != "batchmean":
        _reduction(op, reduction)
    input, target = _same_shape(op, input, target)
    if reduction == "batchmean":
        loss = _loss.kl_div(input, target, "sum", bool(log_target))
        return loss / input._data.shape[0] if input._data.ndim else loss
    return _loss.kl_div(input, target, reduction, bool(log_target))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE of probabilities in [0, 1] (log clamped at -100, as PyTorch); ``weight``
    broadcasts to the input's shape and scales each element's loss."""
    op = "binary_cross_entropy"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    input, target = _same_shape(op, input, target)
    weight = _elementwise_option(op, "weight", weight, input)
    return _loss.binary_cross_entropy(input, target, reduction, weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed stably from the logits; ``pos_weight`` (one per
    class, along the last dim) weighs the positive term, ``weight`` each element."""
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    input, target = _same_shape(op, input, target)
    weight = _elementwise_option(op, "weight", weight, input)
    pos_weight = _elementwise_option(op, "pos_weight", pos_weight, input)
    return _loss.binary_cross_entropy_with_logits(input, target, reduction, weight, pos_weight)


def one_hot(tensor, num_classes=-1):
    """int64 class indices of any shape -> int64 one-hot (..., num_classes); with
    num_classes=-1 the largest index + 1, as PyTorch."""
    op = "one_hot"
    tensor = tensor if isinstance(tensor, Tensor) else as_tensor(tensor)
    indices = tensor._data
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: tensor must hold integer class indices (int64), got "
                        f"{indices.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"{op}: num_classes must be an int, got {type(num_classes).__name__}")
    num_classes = int(num_classes)
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError(f"{op}: can not infer num_classes from an empty tensor")
        num_classes = int(indices.max()) + 1
    if num_classes < 1 and not (num_classes == 0 and indices.size == 0):
        raise ValueError(f"{op}: num_classes must be >= 1 or -1, got {num_classes}")
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"{op}: class values must be in [0, {num_classes}), got "
                         f"[{indices.min()}, {indices.max()}]")
    result = np.zeros(indices.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(result, indices.astype(np.int64)[..., None], 1, axis=-1)
    return Tensor(result)
