"""Helpers shared by the reference kernels: dtype choice and loss reductions."""
import numpy as np


def float_dtype(*arrays):
    """float64 when every floating input is float64 (for gradient checks), else float32."""
    if arrays and all(np.asarray(a).dtype == np.float64 for a in arrays if a is not None):
        return np.float64
    return np.float32


def as_float(array, dtype):
    return np.asarray(array, dtype=dtype)


def check_reduction(op, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce_loss(losses, reduction, dtype):
    if reduction == "none":
        return losses.astype(dtype, copy=False)
    total = losses.sum(dtype=np.float64)
    if reduction == "mean":
        total = total / losses.size if losses.size else np.nan
    return np.asarray(total, dtype=dtype)


def loss_grad_scale(grad_output, reduction, count, dtype):
    """The upstream gradient per element: broadcastable to the loss's elements."""
    grad_output = np.asarray(grad_output, dtype=dtype)
    if reduction == "none":
        return grad_output
    if reduction == "mean":
        return grad_output / dtype(count) if count else grad_output * dtype(np.nan)
    return grad_output


def check_labels(op, labels, num_classes, batch):
    labels = np.asarray(labels)
    if labels.dtype != np.int64:
        raise TypeError(f"{op}: labels must be int64, got {labels.dtype}")
    if labels.shape != (batch,):
        raise ValueError(f"{op}: labels must have shape ({batch},), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"{op}: labels must be in [0, {num_classes}), got {bad}")
    return labels
