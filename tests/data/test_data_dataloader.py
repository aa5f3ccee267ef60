"""DataLoader: batching, lengths, shuffling (manual_seed and per-epoch seeds), batched fetch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cunn
from cunn.data import DataLoader, Dataset, Subset, TensorDataset


def _collect(loader):
    return [tuple(np.asarray(part) for part in batch) for batch in loader]


def _labels(loader):
    return np.concatenate([np.asarray(batch[1]) for batch in loader])


def _dataset(count=10):
    x = np.arange(count * 3, dtype=np.float32).reshape(count, 3)
    y = np.arange(count, dtype=np.uint8)
    return TensorDataset(x, y)


@pytest.mark.parametrize("count, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]), (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]), (2, 5, False, [2]), (2, 5, True, []), (0, 4, False, []),
    (1, 1, False, [1]), (7, 1, True, [1] * 7),
])
def test_batch_sizes_and_len(count, batch_size, drop_last, sizes):
    loader = DataLoader(_dataset(count), batch_size=batch_size, drop_last=drop_last)
    batches = _collect(loader)
    assert len(loader) == len(sizes)
    assert [len(batch[0]) for batch in batches] == sizes


def test_batches_are_tensors_in_order_with_int64_labels():
    loader = DataLoader(_dataset(), batch_size=4)
    batch = next(iter(loader))
    assert isinstance(batch, tuple) and len(batch) == 2
    assert all(isinstance(part, cunn.Tensor) for part in batch)
    x, y = (np.asarray(part) for part in batch)
    assert x.dtype == np.float32 and x.shape == (4, 3)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(_labels(loader), np.arange(10))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in _collect(loader)]),
                                  np.arange(30).reshape(10, 3))


def test_shuffle_follows_manual_seed():
    loader = DataLoader(_dataset(50), batch_size=8, shuffle=True)
    cunn.manual_seed(123)
    first = _labels(loader)
    second = _labels(loader)
    cunn.manual_seed(123)
    again = _labels(loader)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(np.sort(first), np.arange(50))
    assert not np.array_equal(first, np.arange(50))
    assert not np.array_equal(first, second)  # a new order every epoch


def test_shuffle_with_seed_is_reproducible_per_epoch():
    dataset = _dataset(50)
    loader = DataLoader(dataset, batch_size=7, shuffle=True, seed=42)
    epochs = [_labels(loader) for _ in range(3)]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(50))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # The same seed gives the same sequence of epochs, whatever cunn.manual_seed says.
    cunn.manual_seed(0)
    fresh = DataLoader(dataset, batch_size=7, shuffle=True, seed=42)
    for epoch in epochs:
        np.testing.assert_array_equal(_labels(fresh), epoch)
    # set_epoch resumes at a given epoch.
    fresh.set_epoch(1)
    np.testing.assert_array_equal(_labels(fresh), epochs[1])
    other = DataLoader(dataset, batch_size=7, shuffle=True, seed=43)
    assert not np.array_equal(_labels(other), epochs[0])


def test_drop_last_with_shuffle_drops_only_the_tail():
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, drop_last=True, seed=1)
    labels = _labels(loader)
    assert len(labels) == 8 and len(set(labels.tolist())) == 8


class Tracking(Dataset):
    """Counts how samples are fetched."""

    def __init__(self, count, batched):
        self.count = count
        self.item_calls = 0
        self.batch_calls = 0
        if not batched:
            self.get_batch = None  # hide the base class's fallback to test duck-typed datasets

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self.item_calls += 1
        return np.full((2, 2), index, np.uint8), index

    def get_batch(self, indices):
        self.batch_calls += 1
        return np.repeat(indices.astype(np.uint8)[:, None, None], 2, 1).repeat(2, 2), indices


def test_batched_fetch_is_used_and_matches_item_path():
    batched = Tracking(10, batched=True)
    per_item = Tracking(10, batched=False)
    a = _collect(DataLoader(batched, batch_size=4, shuffle=True, seed=3))
    b = _collect(DataLoader(per_item, batch_size=4, shuffle=True, seed=3))
    assert batched.batch_calls == 3 and batched.item_calls == 0
    assert per_item.item_calls == 10
    for left, right in zip(a, b):
        for x, y in zip(left, right):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


class ListLike:
    """Not a cunn Dataset: just __len__ and __getitem__."""

    def __len__(self):
        return 5

    def __getitem__(self, index):
        if index >= 5:
            raise IndexError(index)
        return {"x": float(index), "tag": "t"}


def test_duck_typed_dataset_and_custom_collate():
    batches = list(DataLoader(ListLike(), batch_size=2))
    assert [np.asarray(b["x"]).tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["tag"] == ["t", "t"]
    assert np.asarray(batches[0]["x"]).dtype == np.float32
    sums = list(DataLoader(_dataset(6), batch_size=3,
                           collate_fn=lambda samples: sum(int(np.asarray(s[1])) for s in samples)))
    assert sums == [3, 12]


def test_pytorch_getitems_protocol():
    class Many(ListLike):
        calls = 0

        def __getitems__(self, indices):
            Many.calls += 1
            return [self[i] for i in indices]

    assert len(list(DataLoader(Many(), batch_size=5))) == 1 and Many.calls == 1


def test_subset_through_loader():
    subset = Subset(_dataset(10), [9, 8, 1])
    np.testing.assert_array_equal(_labels(DataLoader(subset, batch_size=2)), [9, 8, 1])


def test_iter_pins_the_order():
    loader = DataLoader(_dataset(20), batch_size=20, shuffle=True)
    cunn.manual_seed(1)
    iterator = iter(loader)
    cunn.manual_seed(99)  # reseeding after iter() must not change this epoch
    pinned = np.asarray(next(iterator)[1])
    cunn.manual_seed(1)
    np.testing.assert_array_equal(_labels(loader), pinned)


def test_argument_errors():
    dataset = _dataset()
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        DataLoader(dataset, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(dataset, batch_size=2.0)
    with pytest.raises(TypeError, match="shuffle must be a bool"):
        DataLoader(dataset, shuffle="yes")
    with pytest.raises(TypeError, match="seed must be an int"):
        DataLoader(dataset, seed=1.5)
    with pytest.raises(TypeError, match="dataset must define __len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(dataset, num_workers=-1)
    assert len(DataLoader(dataset, batch_size=3, num_workers=2, pin_memory=True)) == 4


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.none() | st.integers(0, 2**64 - 1))
def test_batches_partition_the_dataset(count, batch_size, shuffle, drop_last, seed):
    loader = DataLoader(_dataset(count), batch_size=batch_size, shuffle=shuffle,
                        drop_last=drop_last, seed=seed)
    batches = _collect(loader)
    assert len(batches) == len(loader)
    assert all(len(batch[1]) == batch_size for batch in batches[:-1])
    labels = np.concatenate([batch[1] for batch in batches]) if batches else np.zeros(0)
    expected = count - count % batch_size if drop_last else count
    assert len(labels) == expected and len(set(labels.tolist())) == expected
    if not shuffle:
        np.testing.assert_array_equal(labels, np.arange(expected))
    for x, y in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(x[:, 0], y * 3)
