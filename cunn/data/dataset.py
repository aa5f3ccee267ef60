"""Datasets: the base class, in-memory TensorDataset, Subset and random_split.

A dataset maps an index to a sample (``__getitem__``) and has a length. Datasets that hold
their data in memory also answer ``get_batch(indices)`` (an int64 array of indices) with a
whole batch at once, one fancy-indexing operation instead of a Python loop per sample; the
DataLoader uses it when present.
"""
import math
import numbers

import numpy as np

import cunn
from cunn import random as _random
from cunn.data.collate import default_collate, to_tensor


def check_index(index, length, owner):
    """``index`` as a non-negative int below ``length`` (negative counts from the end)."""
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{owner}: index must be an int, got {type(index).__name__}")
    index = int(index)
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} items")
    return index + length if index < 0 else index


def fetch_samples(dataset, indices):
    """The samples at ``indices``, one ``__getitem__`` each (or PyTorch's ``__getitems__``)."""
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return list(getitems([int(i) for i in indices]))
    return [dataset[int(i)] for i in indices]


class Dataset:
    """Base class: subclasses define ``__getitem__`` and ``__len__``.

    ``get_batch`` falls back to one ``__getitem__`` per index and stacks the samples;
    in-memory subclasses override it with batched indexing.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """The samples at ``indices`` (1-D int64 array) stacked into one batch."""
        return default_collate(fetch_samples(self, indices))


class TensorDataset(Dataset):
    """Samples are the rows of the given arrays or Tensors, which share their first size.

    ``dataset[i]`` is a tuple of Tensors (0-d for 1-D inputs, as in PyTorch); the arrays are
    kept as given, without copying.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one array or Tensor")
        arrays = []
        for position, tensor in enumerate(tensors):
            array = np.asarray(tensor)
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} must have at least one "
                                 "dimension (the sample axis), got a 0-d value")
            arrays.append(array)
        lengths = [len(array) for array in arrays]
        if len(set(lengths)) > 1:
            raise ValueError("TensorDataset: every array must have the same size in the first "
                             f"dimension, got {lengths}")
        self._arrays = tuple(arrays)
        self.tensors = tuple(tensor if isinstance(tensor, cunn.Tensor) else to_tensor(array)
                             for array, tensor in zip(arrays, tensors))

    def __len__(self):
        return len(self._arrays[0])

    def __getitem__(self, index):
        index = check_index(index, len(self), "TensorDataset")
        return tuple(to_tensor(array[index]) for array in self._arrays)

    def get_batch(self, indices):
        # np.take gathers whole rows: about half the time of fancy indexing on a 3-D array.
        return tuple(np.take(array, indices, axis=0) for array in self._arrays)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        length = len(dataset)
        indices = np.asarray(indices)
        if indices.ndim != 1:
            raise ValueError(f"Subset: indices must be 1-D, got shape {indices.shape}")
        if indices.size and indices.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be integers, got dtype {indices.dtype}")
        indices = indices.astype(np.int64)
        if indices.size and (indices.min() < -length or indices.max() >= length):
            raise IndexError(f"Subset: indices must lie in [{-length}, {length}) for a dataset "
                             f"of {length} items, got [{indices.min()}, {indices.max()}]")
        self.dataset = dataset
        self.indices = np.where(indices < 0, indices + length, indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[check_index(index, len(self), "Subset")])]

    def get_batch(self, indices):
        inner = getattr(self.dataset, "get_batch", None)
        if inner is None:
            return default_collate(fetch_samples(self.dataset, self.indices[indices]))
        return inner(self.indices[indices])


def _split_lengths(lengths, total):
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    for length in lengths:
        if isinstance(length, bool) or not isinstance(length, numbers.Real):
            raise TypeError(f"random_split: lengths must be ints or fractions, got "
                            f"{type(length).__name__}")
        if length < 0:
            raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    # As in PyTorch: fractions summing to 1 are turned into counts, the remainder going
    # one by one to the first subsets.
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(total * fraction)) for fraction in lengths]
        for position in range(total - sum(counts)):
            counts[position % len(counts)] += 1
        return counts
    if any(not isinstance(length, (int, np.integer)) for length in lengths):
        raise ValueError(f"random_split: fractions must sum to 1, got {lengths} "
                         f"(sum {sum(lengths)})")
    if sum(lengths) != total:
        raise ValueError(f"random_split: lengths must sum to the dataset's length {total}, got "
                         f"{lengths} (sum {sum(lengths)})")
    return [int(length) for length in lengths]


def random_split(dataset, lengths, seed=None, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given ``lengths``
    (ints summing to ``len(dataset)``, or fractions summing to 1).

    With ``seed`` the split is reproducible; ``generator`` (a ``cunn.Generator``, also
    accepted in ``seed``'s place as PyTorch's third argument) draws from that stream;
    without either, it follows ``cunn.manual_seed``.
    """
    if isinstance(seed, _random.Generator):
        seed, generator = None, seed
    if seed is not None and generator is not None:
        raise ValueError("random_split: give either seed or generator, not both")
    total = len(dataset)
    counts = _split_lengths(lengths, total)
    if seed is None:
        order = _random.generator(generator).permutation(total)
    else:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"random_split: seed must be an int or None, got "
                            f"{type(seed).__name__}")
        order = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF).permutation(total)
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[start:start + count]))
        start += count
    return subsets
