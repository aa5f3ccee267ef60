"""cunn.nn.functional: the layers and losses as functions (PyTorch's signatures).

Each function checks its arguments here — dtypes, shapes, ranges, with messages that
name the function and the argument — and hands Tensors to cunn/ops, which records
the graph and calls the backend.
"""
import math

import numpy as np

from cunn._tensor import Tensor
from cunn.device import check_same_device
from cunn.ops import activation as _activation
from cunn.ops import conv2d as _conv2d
from cunn.ops import dropout as _dropout
from cunn.ops import linalg as _linalg
from cunn.ops import loss as _loss
from cunn.ops import pool as _pool
from cunn.ops import softmax as _softmax
from cunn.ops import _util
from cunn.ops._util import as_tensor
from cunn.ops.dim_alias import accepts_axis as _accepts_axis

__all__ = ["linear", "conv2d", "max_pool2d", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
           "log_softmax", "dropout", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "flatten",
           "smooth_l1_loss", "huber_loss", "kl_div", "one_hot"]

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


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


def _same_device(op, *tensors):
    """RuntimeError naming both devices when the op's tensors (None skipped) are on
    different ones; on the host path one type comparison per tensor."""
    kind = type(tensors[0]._data)
    for tensor in tensors:
        if tensor is not None and type(tensor._data) is not kind:
            check_same_device(op, *[t._data for t in tensors if t is not None])


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias over the last dim of input."""
    if not (_all_float32(input, weight) and (bias is None or _all_float32(bias))):
        input, weight, bias = _floats("linear", ("bias",), input=input, weight=weight,
                                      bias=bias)
    if type(input._data) is not type(weight._data) or \
            (bias is not None and type(bias._data) is not type(weight._data)):
        _same_device("linear", input, weight, bias)
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
    _same_device("conv2d", input, weight, bias)
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
    return _util.contiguous(weight._data)


def _ignore_index(op, ignore_index):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}")
    return int(ignore_index)


def _class_loss_inputs(op, input, target, weight, ignore_index):
    """What cross_entropy and nll_loss share: scores as (N, C) (classes moved last), and
    the kernel options that differ from the defaults (weight, ignore_index)."""
    input, target, none_shape = _classes_last(op, input, target)
    input = _class_scores(op, "input", input)
    _same_device(op, input, target if isinstance(target, Tensor) else None,
                 weight if isinstance(weight, Tensor) else None)
    options = {}
    weight = _class_weight(op, weight, input._data.shape[1])
    if weight is not None:
        options["weight"] = weight
    ignore_index = _ignore_index(op, ignore_index)
    if ignore_index != -100:
        options["ignore_index"] = ignore_index
    return input, target, none_shape, options


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits (N, C) against int64 class indices (N,) or class
    probabilities (N, C), fused with log-softmax; per-class ``weight``, ``ignore_index``
    (left out of the mean's denominator) and ``label_smoothing`` as PyTorch. (C,) and
    (N, C, d1, ...) inputs work as in PyTorch."""
    # The training loop's call (float32 logits (N, C), int64 labels (N,) beside them, no
    # options) needs none of the checks below: they would cost more than the loss kernel
    # on a small batch. Anything else, including every error, takes the general path.
    if type(input) is Tensor and type(target) is Tensor and weight is None and \
            size_average is None and reduce is None and type(ignore_index) is int and \
            ignore_index == -100 and type(label_smoothing) in (float, int) and \
            label_smoothing == 0 and reduction in ("mean", "sum", "none"):
        logits, labels = input._data, target._data
        if logits.dtype == _FLOAT32 and logits.ndim == 2 and labels.dtype == _INT64 and \
                labels.shape == logits.shape[:1] and type(labels) is type(logits):
            return _loss.cross_entropy(input, target, reduction)
    op = "cross_entropy"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    input, target, none_shape, options = _class_loss_inputs(op, input, target, weight,
                                                            ignore_index)
    batch, classes = input._data.shape
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
    input, target, none_shape, options = _class_loss_inputs(op, input, target, weight,
                                                            ignore_index)
    target = _labels(op, target, input._data.shape[0])  # the range is checked by the kernels
    return _restore_shape(_loss.nll_loss(input, target, reduction, **options), none_shape,
                          reduction)


def _same_shape(op, input, target):
    input, target = _floats(op, input=input, target=target)
    _same_device(op, input, target)
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
    return _util.contiguous(expanded, dtype=input._data.dtype)


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


# ---- normalisation, average pooling, smooth activations, embedding (issue 16) ----

from cunn.ops import avg_pool as _avg_pool  # noqa: E402
from cunn.ops import embedding as _embedding  # noqa: E402
from cunn.ops import normalization as _normalization  # noqa: E402
from cunn.ops import smooth_activation as _smooth_activation  # noqa: E402

__all__ += ["avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "embedding",
            "elu", "gelu", "silu", "softplus", "dropout2d"]


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
    _same_device(op, input, running_mean, running_var, weight, bias)
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
    input, weight, bias = _floats(op, ("weight", "bias"), input=input, weight=weight, bias=bias)
    _same_device(op, input, weight, bias)
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
    if type(indices) is _util.DeviceArray:  # the device kernel checks the range as it reads
        indices = _util.contiguous(indices, np.int64)
    else:
        indices = np.asarray(indices, dtype=np.int64, order="C")  # stays 0-d when 0-d
    if type(indices) is np.ndarray and indices.size and (
            indices.min() < 0 or indices.max() >= num_embeddings):
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
# `axis=` works wherever `dim` does, as in PyTorch.
softmax = _accepts_axis(softmax)
log_softmax = _accepts_axis(log_softmax)
