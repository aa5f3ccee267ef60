"""Turning samples into batches of Tensors (PyTorch's default collate, cunn's dtypes).

cunn tensors hold float32, float64, int64 or bool, so every integer array becomes int64
(labels int64, as the losses expect), other floating types become float32, and Python
floats become float32 (cunn's default float), unlike PyTorch's float64.
"""
import collections.abc

import numpy as np

import cunn


def to_tensor(value):
    """``value`` (array, Tensor or scalar) as a Tensor with one of cunn's dtypes."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind in "iu":
        if array.dtype != np.int64:
            array = array.astype(np.int64)
    elif kind == "f":
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32)
    elif kind != "b":
        raise TypeError(f"collate: cannot make a Tensor from dtype {array.dtype}; data must be "
                        "numeric or bool")
    return cunn.from_numpy(array)


def as_batch(batch):
    """A batch built by a dataset's ``get_batch`` with each array turned into a Tensor."""
    if isinstance(batch, (str, bytes)):
        return batch
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(as_batch(part) for part in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(as_batch(part) for part in batch)
    if isinstance(batch, collections.abc.Mapping):
        return {key: as_batch(part) for key, part in batch.items()}
    return to_tensor(batch)


def default_collate(samples):
    """Stack a list of samples into a batch: arrays/Tensors and numbers become one Tensor with
    a leading batch axis; tuples, lists and dicts are collated field by field (a tuple of
    Tensors for tuple samples); strings stay a list."""
    samples = list(samples)
    if not samples:
        raise ValueError("collate: samples must be a non-empty list, got an empty one")
    first = samples[0]
    if isinstance(first, (str, bytes)):
        return samples
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        width = len(first)
        if any(len(sample) != width for sample in samples):
            raise ValueError("collate: every sample in a batch must have the same number of "
                             f"fields, got {sorted({len(sample) for sample in samples})}")
        fields = [default_collate(list(column)) for column in zip(*samples)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    if isinstance(first, float):
        return to_tensor(np.asarray(samples, dtype=np.float32))
    if isinstance(first, (bool, int, np.generic)) or hasattr(first, "__array__"):
        arrays = [np.asarray(sample) for sample in samples]
        shapes = {array.shape for array in arrays}
        if len(shapes) > 1:
            raise ValueError("collate: every sample in a batch must have the same shape, got "
                             f"{sorted(shapes)}")
        return to_tensor(np.stack(arrays))
    raise TypeError(f"collate: samples must be arrays, Tensors, numbers, strings or "
                    f"tuples/lists/dicts of them, got {type(first).__name__}")
