"""Samplers: which dataset indices a DataLoader visits, in which order (PyTorch's
torch.utils.data samplers). A sampler is any iterable of indices with a length; a batch
sampler yields lists of indices."""
import numpy as np

from cunn import random as _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler"]


class Sampler:
    """Base class: subclasses define ``__iter__`` (and ``__len__``)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order every epoch, drawn from ``generator`` (a ``cunn.Generator``) or
    the stream ``cunn.manual_seed`` seeds; with ``replacement``, ``num_samples`` draws."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got "
                            f"{type(replacement).__name__}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(
                num_samples, (int, np.integer)) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        _random.generator(generator)  # checks its type now rather than at the first epoch
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        rng = _random.generator(self.generator)
        count = len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, count, self.num_samples).tolist())
        rounds = -(-self.num_samples // count) if count else 0
        order = np.concatenate([rng.permutation(count) for _ in range(rounds)] or [[]])
        return iter(order[:self.num_samples].astype(np.int64).tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order every epoch."""

    def __init__(self, indices, generator=None):
        _random.generator(generator)
        self.indices = list(indices)
        self.generator = generator

    def __iter__(self):
        order = _random.generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[position] for position in order])

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups ``sampler``'s indices into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got "
                             f"{batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be a bool, got "
                            f"{type(drop_last).__name__}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
