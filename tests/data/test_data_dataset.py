"""Dataset, TensorDataset, Subset, random_split and default_collate."""
from collections import namedtuple

import numpy as np
import pytest

import cunn
import cunn.data
import cunn.utils.data
from cunn.data import Dataset, Subset, TensorDataset, default_collate, random_split


def test_utils_data_is_the_same_package():
    for name in ("DataLoader", "Dataset", "TensorDataset", "Subset", "random_split", "MNIST",
                 "DatasetError", "mnist", "transforms"):
        assert getattr(cunn.utils.data, name) is getattr(cunn.data, name)
    from cunn.utils.data import DataLoader
    assert DataLoader is cunn.data.DataLoader
    assert issubclass(cunn.data.DatasetError, ValueError)


def test_tensor_dataset_items_and_batches():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int32)
    dataset = TensorDataset(x, cunn.from_numpy(y))
    assert len(dataset) == 10
    features, label = dataset[3]
    np.testing.assert_array_equal(np.asarray(features), [6, 7])
    assert np.asarray(label).shape == () and int(np.asarray(label)) == 3
    assert np.asarray(label).dtype == np.int64
    last = dataset[-1]
    np.testing.assert_array_equal(np.asarray(last[0]), [18, 19])
    batch_x, batch_y = dataset.get_batch(np.array([4, 0, 9]))
    np.testing.assert_array_equal(batch_x, x[[4, 0, 9]])
    np.testing.assert_array_equal(batch_y, [4, 0, 9])
    # No copy of the inputs is kept.
    assert np.shares_memory(np.asarray(dataset.tensors[0]), x)


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match="same size in the first dimension, got \\[3, 4\\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.zeros(3), np.float32(1))
    dataset = TensorDataset(np.zeros(3))
    with pytest.raises(IndexError, match="index 3 is out of range for 3 items"):
        dataset[3]
    with pytest.raises(IndexError):
        dataset[-4]
    with pytest.raises(TypeError, match="index must be an int"):
        dataset[1.0]


def test_subset_maps_indices_and_batches():
    dataset = TensorDataset(np.arange(10) * 10)
    subset = Subset(dataset, [7, 2, -1])
    assert len(subset) == 3
    assert int(np.asarray(subset[0][0])) == 70 and int(np.asarray(subset[2][0])) == 90
    (values,) = subset.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(values, [90, 70])
    nested = Subset(subset, [1, 0])
    np.testing.assert_array_equal(nested.get_batch(np.array([0, 1]))[0], [20, 70])
    with pytest.raises(IndexError, match="Subset: indices must lie in"):
        Subset(dataset, [10])
    with pytest.raises(TypeError, match="integers"):
        Subset(dataset, [0.5])


class Squares(Dataset):
    """A generic dataset with no batched fetch: items are (array, int, float)."""

    def __init__(self, count):
        self.count = count
        self.calls = 0

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self.calls += 1
        if not 0 <= index < self.count:
            raise IndexError(index)
        return np.full(2, index, np.float32), index, index * 0.5


def test_generic_dataset_batch_falls_back_to_items():
    dataset = Squares(5)
    arrays, ints, floats = dataset.get_batch(np.array([4, 1]))
    assert dataset.calls == 2
    np.testing.assert_array_equal(np.asarray(arrays), [[4, 4], [1, 1]])
    assert np.asarray(ints).dtype == np.int64 and np.asarray(floats).dtype == np.float32
    subset = Subset(dataset, [3, 4])
    np.testing.assert_array_equal(np.asarray(subset.get_batch(np.array([1]))[1]), [4])


def test_base_dataset_requires_getitem():
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_default_collate_structures():
    Point = namedtuple("Point", "x y")
    samples = [{"image": np.ones((2, 2), np.uint8) * i, "name": f"s{i}", "p": Point(i, True)}
               for i in range(3)]
    batch = default_collate(samples)
    assert np.asarray(batch["image"]).shape == (3, 2, 2)
    assert np.asarray(batch["image"]).dtype == np.int64  # integers become cunn's int64
    assert batch["name"] == ["s0", "s1", "s2"]
    assert isinstance(batch["p"], Point) and np.asarray(batch["p"].y).dtype == np.bool_
    pair = default_collate([(np.zeros(2, np.float64), 1), (np.ones(2, np.float64), 2)])
    assert isinstance(pair, tuple) and np.asarray(pair[0]).dtype == np.float64
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)
    assert np.asarray(default_collate([np.float16(1), np.float16(2)])).dtype == np.float32
    with pytest.raises(ValueError, match="same shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="got object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="non-empty"):
        default_collate([])


@pytest.mark.parametrize("lengths, expected", [
    ([7, 3], [7, 3]), ([0.7, 0.3], [7, 3]), ([0.5, 0.5], [5, 5]),
    ([1 / 3] * 3, [4, 3, 3]), ([10], [10]), ([0, 10], [0, 10]),
])
def test_random_split_lengths_and_partition(lengths, expected):
    dataset = TensorDataset(np.arange(10))
    parts = random_split(dataset, lengths, seed=3)
    assert [len(part) for part in parts] == expected
    together = np.concatenate([part.indices for part in parts])
    np.testing.assert_array_equal(np.sort(together), np.arange(10))


def test_random_split_reproducibility():
    dataset = TensorDataset(np.arange(100))
    first = random_split(dataset, [50, 50], seed=11)
    again = random_split(dataset, [50, 50], seed=11)
    other = random_split(dataset, [50, 50], seed=12)
    np.testing.assert_array_equal(first[0].indices, again[0].indices)
    assert not np.array_equal(first[0].indices, other[0].indices)
    cunn.manual_seed(5)
    a = random_split(dataset, [0.5, 0.5])
    cunn.manual_seed(5)
    b = random_split(dataset, [0.5, 0.5])
    np.testing.assert_array_equal(a[1].indices, b[1].indices)
    assert not np.array_equal(a[1].indices, np.arange(50, 100))
    assert np.asarray(first[1].get_batch(np.array([0]))[0]).tolist() == [first[1].indices[0]]


def test_random_split_errors():
    dataset = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to the dataset's length 10"):
        random_split(dataset, [5, 4])
    with pytest.raises(ValueError, match="fractions must sum to 1"):
        random_split(dataset, [0.5, 0.2])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(dataset, [11, -1])
    with pytest.raises(TypeError, match="seed"):
        random_split(dataset, [5, 5], seed="x")
