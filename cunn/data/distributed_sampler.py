"""DistributedSampler: each rank's share of a dataset, index for index PyTorch's.

PyTorch shuffles with ``torch.randperm(n, generator=Generator().manual_seed(seed + epoch))``:
a Fisher-Yates pass over ``arange(n)`` that swaps position ``i`` with
``i + u % (n - i)``, each ``u`` the next 32-bit output of an MT19937 seeded with the seed's
low 32 bits. NumPy's legacy ``RandomState`` is the same MT19937 with the same seeding, so
drawing its raw 32-bit outputs reproduces PyTorch's order without PyTorch. The padded or
trimmed list is then dealt round-robin: rank ``r`` takes ``indices[r::num_replicas]``.
"""
import math

import numpy as np

__all__ = ["DistributedSampler"]


def _pytorch_randperm(count, seed):
    """``torch.randperm(count, generator=torch.Generator().manual_seed(seed))``."""
    order = list(range(count))
    if count < 2:
        return order
    source = np.random.RandomState(seed & 0xFFFFFFFF)
    draws = source.randint(0, 2 ** 32, size=count - 1, dtype=np.uint64)
    swaps = (draws % np.arange(count, 1, -1, dtype=np.uint64)).astype(np.int64) \
        + np.arange(count - 1, dtype=np.int64)
    for position, other in enumerate(swaps.tolist()):
        order[position], order[other] = order[other], order[position]
    return order


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class DistributedSampler:
    """``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
    drop_last=False)``: the indices of this rank's shard; ``set_epoch(e)`` reshuffles the same
    way on every rank. ``num_replicas`` and ``rank`` default to the process group's."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: dataset must define __len__, got "
                            f"{type(dataset).__name__}")
        if num_replicas is None or rank is None:
            from cunn.distributed import process_group
            if num_replicas is None:
                num_replicas = process_group.get_world_size()
            if rank is None:
                rank = process_group.get_rank()
        self.num_replicas = _check_int(num_replicas, "num_replicas", 1)
        self.rank = _check_int(rank, "rank", 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.num_replicas}), "
                             f"got {self.rank}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = _check_int(seed, "seed", 0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        count = len(dataset)
        if self.drop_last and count % self.num_replicas:
            self.num_samples = math.ceil((count - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(count / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """The epoch whose order the next iteration uses (call it before each epoch)."""
        self.epoch = _check_int(epoch, "epoch", 0)

    def __iter__(self):
        count = len(self.dataset)
        if self.shuffle:
            indices = _pytorch_randperm(count, self.seed + self.epoch)
        else:
            indices = list(range(count))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            missing = self.total_size - len(indices)
            while missing > 0:
                indices += indices[:missing]
                missing = self.total_size - len(indices)
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples
