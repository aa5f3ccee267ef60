"""DataLoader: batches of Tensors from a dataset, in order or shuffled.

Datasets with ``get_batch(indices)`` (TensorDataset, MNIST, Subsets of them) are served one
indexing operation per batch; any other dataset one ``__getitem__`` per sample, stacked by
``default_collate``. Loading happens in the calling process unless ``num_workers > 0`` asks
for worker processes (cunn/data/_worker.py): with batched indexing, in-process loading costs
far less than workers would; heavy per-sample transforms (augmentation) overlap training in
workers.
"""
import numpy as np

from cunn import random as _random
from cunn.data import _worker
from cunn.data.collate import as_batch, default_collate
from cunn.data.dataset import fetch_samples


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"DataLoader: {name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _check_samplers(shuffle, sampler, batch_sampler, batch_size, drop_last, seed, generator):
    """PyTorch's rules for which DataLoader options exclude each other."""
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last")
    if seed is not None and generator is not None:
        raise ValueError("DataLoader: give either seed or generator, not both")


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle``: a new random order every epoch (each ``iter()``). Without ``seed`` the order
    comes from cunn's generator (``cunn.manual_seed``); with ``seed``, epoch ``k`` uses a
    permutation derived from ``(seed, k)``, so runs are reproducible and epochs differ
    (``set_epoch`` picks the epoch, e.g. when resuming). ``drop_last`` drops a final
    incomplete batch. ``collate_fn`` replaces ``default_collate`` (and then every sample is
    fetched by ``__getitem__``). As in PyTorch, ``sampler`` (an iterable of indices)
    replaces ``shuffle``, ``batch_sampler`` (an iterable of index lists) replaces
    ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``, and ``generator`` (a
    ``cunn.Generator``) is the stream shuffling draws from. ``num_workers > 0`` loads in that
    many worker processes (PyTorch's ``worker_init_fn``, ``prefetch_factor``,
    ``persistent_workers``, ``timeout``, ``multiprocessing_context``; see
    cunn/data/_worker.py). ``pin_memory`` is accepted for PyTorch compatibility and has no
    effect.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 collate_fn=None, num_workers=0, pin_memory=False, sampler=None,
                 batch_sampler=None, generator=None, worker_init_fn=None,
                 prefetch_factor=None, persistent_workers=False, timeout=0,
                 multiprocessing_context=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got "
                            f"{type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"DataLoader: seed must be an int or None, got {type(seed).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable or None, got "
                            f"{type(collate_fn).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative int, got "
                             f"{num_workers!r}")
        _check_samplers(shuffle, sampler, batch_sampler, batch_size, drop_last, seed, generator)
        _random.generator(generator)  # a TypeError now for anything but a cunn.Generator
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.shuffle = _check_flag(shuffle, "shuffle")
        self.drop_last = _check_flag(drop_last, "drop_last")
        self.seed = None if seed is None else int(seed)
        self.collate_fn = collate_fn
        self.num_workers = int(num_workers)
        self.pin_memory = _check_flag(pin_memory, "pin_memory")
        self.epoch = 0
        self._set_worker_options(worker_init_fn, prefetch_factor, persistent_workers, timeout,
                                 multiprocessing_context)

    def _set_worker_options(self, worker_init_fn, prefetch_factor, persistent_workers, timeout,
                            context):
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable or None, got "
                            f"{type(worker_init_fn).__name__}")
        if prefetch_factor is not None and self.num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor needs num_workers > 0 (it counts "
                             "batches loaded ahead by each worker)")
        prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        if isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, (int, np.integer)) \
                or prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                             f"{prefetch_factor!r}")
        persistent_workers = _check_flag(persistent_workers, "persistent_workers")
        if persistent_workers and self.num_workers == 0:
            raise ValueError("DataLoader: persistent_workers needs num_workers > 0")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.number)) \
                or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a non-negative number, got "
                             f"{timeout!r}")
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = int(prefetch_factor)
        self.persistent_workers = persistent_workers
        self.timeout = float(timeout)
        self.multiprocessing_context = context
        self._workers = None

    def set_epoch(self, epoch):
        """Make the next iteration use epoch ``epoch``'s order (with ``seed``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative int, got "
                             f"{epoch!r}")
        self.epoch = int(epoch)

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        count = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.drop_last:
            return count // self.batch_size
        return -(-count // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        count = len(self.dataset)
        if not self.shuffle:
            return np.arange(count, dtype=np.int64)
        if self.seed is None:
            return _random.generator(self.generator).permutation(count)
        entropy = [self.seed & 0xFFFFFFFFFFFFFFFF, self.epoch]
        return np.random.default_rng(entropy).permutation(count)

    def _fetch(self, indices):
        return _fetch_batch(self.dataset, self.collate_fn, indices)

    def __iter__(self):
        if self.batch_sampler is not None:
            batches = (np.asarray(batch, dtype=np.int64) for batch in self.batch_sampler)
        else:
            # The order is drawn here, not at the first next(), so iter() pins the epoch.
            order = self._order()
            self.epoch += 1
            stop = len(self) * self.batch_size if self.drop_last else len(order)
            batches = (order[start:start + self.batch_size]
                       for start in range(0, stop, self.batch_size))
        if self.num_workers > 0:
            return self._worker_iterator(list(batches))
        return (self._fetch(indices) for indices in batches)

    def _worker_base_seed(self):
        # As PyTorch: one draw from the loader's random source per epoch (per worker start
        # with persistent workers); worker i seeds itself with base_seed + i.
        if self.seed is None:
            return int(_random.generator(self.generator).integers(0, 2**62))
        entropy = [self.seed & 0xFFFFFFFFFFFFFFFF, self.epoch, 1]
        return int(np.random.default_rng(entropy).integers(0, 2**62))

    def _worker_iterator(self, batches):
        pool = self._workers
        if pool is None:
            pool = _worker.WorkerPool(_fetch_batch, self.dataset, self.collate_fn,
                                      self.num_workers, self._worker_base_seed(),
                                      self.worker_init_fn, self.prefetch_factor, self.timeout,
                                      self.multiprocessing_context)
            if self.persistent_workers:
                self._workers = pool
        return _worker.iterate(pool, batches, self.persistent_workers)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_workers"] = None  # worker processes belong to the process that started them
        return state

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


def _fetch_batch(dataset, collate_fn, indices):
    """One batch: a dataset's ``get_batch`` when it has one and no collate_fn is given, else
    ``__getitem__`` per sample and the collate function (module level, so that a worker
    started with spawn can receive it)."""
    get_batch = getattr(dataset, "get_batch", None)
    if collate_fn is None and get_batch is not None:
        return as_batch(get_batch(indices))
    collate = collate_fn or default_collate
    return collate(fetch_samples(dataset, indices))
