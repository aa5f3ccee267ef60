"""DataLoader(num_workers=N): batches loaded in N worker processes, in order, seeded like
PyTorch's workers (base_seed + worker id), errors raised in the main process, and no worker
left behind however the iteration ends."""
import gc
import multiprocessing
import os
import time

import numpy as np
import pytest

import cunn
import cunn.data as data
from cunn import random as cunn_random


class Samples(data.Dataset):
    """Item i: (a vector holding i, i, the pid and worker id that loaded it)."""

    def __len__(self):
        return 23

    def __getitem__(self, index):
        info = data.get_worker_info()
        worker = -1 if info is None else info.id
        return np.full(3, index, np.float32), index, os.getpid(), worker


class RandomPerSample(data.Dataset):
    """Each item draws from cunn's generator (as random transforms do) and NumPy's."""

    def __len__(self):
        return 16

    def __getitem__(self, index):
        return cunn_random.generator().standard_normal(3).astype(np.float32), np.random.rand()


def _children_gone(timeout=10.0):
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_come_in_order_from_worker_processes(workers, shuffle):
    serial = data.DataLoader(Samples(), batch_size=4, shuffle=shuffle, seed=5)
    parallel = data.DataLoader(Samples(), batch_size=4, shuffle=shuffle, seed=5,
                               num_workers=workers)
    expected, got = list(serial), list(parallel)
    assert len(got) == len(expected) == 6
    for (values, labels, _, _), (values_w, labels_w, pids, worker_ids) in zip(expected, got):
        assert np.array_equal(np.asarray(values), np.asarray(values_w))
        assert np.array_equal(np.asarray(labels), np.asarray(labels_w))
        assert os.getpid() not in set(np.asarray(pids).tolist())
    worker_of_batch = [int(np.asarray(batch[3])[0]) for batch in got]
    assert worker_of_batch == [i % workers for i in range(6)]
    assert len({int(np.asarray(batch[2])[0]) for batch in got}) == workers
    assert _children_gone()


def test_batched_datasets_load_in_workers_too():
    x = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    y = np.arange(50)
    dataset = data.TensorDataset(x, y)
    serial = list(data.DataLoader(dataset, batch_size=8, shuffle=True, seed=1))
    parallel = list(data.DataLoader(dataset, batch_size=8, shuffle=True, seed=1, num_workers=2))
    for a, b in zip(serial, parallel, strict=True):
        assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]))
        assert np.array_equal(np.asarray(a[1]), np.asarray(b[1]))


def _epoch(loader):
    return [(np.asarray(images).tobytes(), np.asarray(draws).tobytes()) for images, draws in loader]


def test_workers_are_seeded_deterministically_and_differently():
    cunn.manual_seed(11)
    first = _epoch(data.DataLoader(RandomPerSample(), batch_size=2, num_workers=2))
    cunn.manual_seed(11)
    second = _epoch(data.DataLoader(RandomPerSample(), batch_size=2, num_workers=2))
    assert first == second
    # Worker 0 and worker 1 draw different numbers (base_seed + worker id).
    assert first[0][1] != first[1][1]
    cunn.manual_seed(12)
    assert _epoch(data.DataLoader(RandomPerSample(), batch_size=2, num_workers=2)) != first


class SeedReport(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        info = data.get_worker_info()
        return np.array([info.seed, info.id, info.num_workers, INIT_MARK.get("id", -1)])


INIT_MARK = {}


def _mark_init(worker_id):
    INIT_MARK["id"] = 100 + worker_id


def test_worker_info_seeds_and_worker_init_fn():
    assert data.get_worker_info() is None
    loader = data.DataLoader(SeedReport(), batch_size=1, num_workers=2,
                             worker_init_fn=_mark_init)
    rows = [np.asarray(batch)[0] for batch in loader]
    seeds, ids, counts, marks = zip(*rows)
    assert list(ids) == [0, 1, 0, 1] and set(counts) == {2}
    assert list(marks) == [100, 101, 100, 101]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0]


class Failing(Samples):
    def __getitem__(self, index):
        if index == 9:
            raise KeyError(f"no item {index}")
        return super().__getitem__(index)


def test_error_in_a_worker_is_raised_in_the_main_process():
    loader = data.DataLoader(Failing(), batch_size=4, num_workers=2)
    with pytest.raises(KeyError, match="DataLoader worker process 0"):
        list(loader)
    assert _children_gone()


def _failing_init(worker_id):
    raise ValueError("bad init")


def test_error_in_worker_init_fn_is_raised():
    with pytest.raises(ValueError, match="bad init"):
        list(data.DataLoader(Samples(), batch_size=4, num_workers=2,
                             worker_init_fn=_failing_init))


class Dying(Samples):
    def __getitem__(self, index):
        if index == 5:
            os._exit(7)
        return super().__getitem__(index)


def test_a_worker_that_dies_raises_runtime_error():
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 7"):
        list(data.DataLoader(Dying(), batch_size=4, num_workers=2))
    assert _children_gone()


def test_break_and_garbage_collection_shut_workers_down():
    loader = data.DataLoader(Samples(), batch_size=2, num_workers=2)
    for _ in loader:
        break
    gc.collect()
    assert _children_gone()
    iterator = iter(loader)
    next(iterator)
    del iterator
    gc.collect()
    assert _children_gone()


def test_persistent_workers_survive_epochs_and_stale_batches_are_dropped():
    loader = data.DataLoader(Samples(), batch_size=3, shuffle=True, seed=2, num_workers=2,
                             persistent_workers=True)
    reference = data.DataLoader(Samples(), batch_size=3, shuffle=True, seed=2)
    first = list(loader)
    for _ in loader:  # leaves batches in flight
        break
    third = list(loader)
    expected = list(reference)
    next(iter(reference))
    expected_third = list(reference)
    assert [np.asarray(b[1]).tolist() for b in first] == [np.asarray(b[1]).tolist()
                                                          for b in expected]
    assert [np.asarray(b[1]).tolist() for b in third] == [np.asarray(b[1]).tolist()
                                                          for b in expected_third]
    pids = {int(pid) for batch in first + third for pid in np.asarray(batch[2])}
    assert len(pids) == 2
    assert len(multiprocessing.active_children()) == 2
    del loader
    gc.collect()
    assert _children_gone()


def test_spawn_context_loads_a_picklable_dataset():
    dataset = data.TensorDataset(np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6))
    loader = data.DataLoader(dataset, batch_size=2, num_workers=1,
                             multiprocessing_context="spawn")
    labels = [np.asarray(batch[1]).tolist() for batch in loader]
    assert labels == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("keyword, value, error", [
    ("persistent_workers", True, ValueError), ("prefetch_factor", 2, ValueError),
    ("worker_init_fn", 3, TypeError), ("timeout", -1, ValueError)])
def test_worker_options_are_validated(keyword, value, error):
    with pytest.raises(error, match="DataLoader"):
        data.DataLoader(Samples(), **{keyword: value})
