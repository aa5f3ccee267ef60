"""cunn.data.mnist.load and the MNIST dataset: lookup order, validation, caching, batched
fetch; checks on the real files when CUNN_DATA provides them."""
import gzip
import hashlib
import os

import numpy as np
import pytest

from cunn.data import MNIST, DataLoader, DatasetError, mnist, write_idx
from cunn.data.transforms import Compose, Flatten, Lambda, Normalize, ToTensor
from data_helpers import make_idx_folder, real_mnist_folder


@pytest.mark.parametrize("gz", [False, True])
def test_load_from_root(tmp_path, gz):
    arrays = make_idx_folder(tmp_path, gz=gz)
    (x_train, y_train), (x_test, y_test) = mnist.load(root=tmp_path, download=False)
    for (images, labels), split in (((x_train, y_train), "train"), ((x_test, y_test), "test")):
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, arrays[split][0])
        np.testing.assert_array_equal(labels, arrays[split][1])
    assert x_train.shape == (7, 28, 28) and x_test.shape == (5, 28, 28)


def test_load_returns_fresh_writable_arrays(tmp_path):
    make_idx_folder(tmp_path)
    (x_train, y_train), _ = mnist.load(root=tmp_path, download=False)
    x_train[:] = 0
    y_train[:] = 0
    (again, labels), _ = mnist.load(root=tmp_path, download=False)
    assert again.any() and labels.any()


def test_edited_file_is_read_again(tmp_path):
    make_idx_folder(tmp_path, seed=1)
    first = mnist.load(root=tmp_path, download=False)[0][0]
    images = np.full((7, 28, 28), 3, np.uint8)
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, images)
    os.utime(path, ns=(0, 12345))  # a different mtime even on coarse clocks
    second = mnist.load(root=tmp_path, download=False)[0][0]
    assert not np.array_equal(first, second) and (second == 3).all()


def test_other_image_sizes_load(tmp_path):
    make_idx_folder(tmp_path, shape=(5, 4))
    assert mnist.load(root=tmp_path, download=False)[1][0].shape == (5, 5, 4)


def test_count_mismatch(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte holds 5 images but "
                                           r".*t10k-labels-idx1-ubyte holds 4 labels"):
        mnist.load(root=tmp_path, download=False)


def test_swapped_files_rejected_by_magic(tmp_path):
    make_idx_folder(tmp_path)
    os.replace(tmp_path / "train-labels-idx1-ubyte", tmp_path / "swap")
    os.replace(tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte")
    os.replace(tmp_path / "swap", tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DatasetError, match="magic number 0x00000801"):
        mnist.load(root=tmp_path, download=False)


def test_truncated_local_file(tmp_path):
    make_idx_folder(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: truncated"):
        mnist.load(root=tmp_path, download=False)


def test_missing_with_download_false_says_where_and_how(tmp_path, monkeypatch):
    make_idx_folder(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte") as info:
        mnist.load(root=tmp_path, download=False)
    assert str(tmp_path) in str(info.value) and "root=" in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        mnist.load(download=False)
    message = str(info.value)
    assert mnist.cache_dir() in message and "$CUNN_DATA (not set)" in message
    assert "--data" in message and "CUNN_DATA environment variable" in message
    monkeypatch.setenv("CUNN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"\$CUNN_DATA/mnist = .*missing"):
        mnist.load(download=False)


def test_lookup_order_cunn_data_then_cache(tmp_path, monkeypatch):
    data = tmp_path / "data"
    cached = make_idx_folder(mnist.cache_dir(), seed=2)
    from_env = make_idx_folder(data / "mnist", seed=3)
    assert mnist.cache_dir() == str(tmp_path / "xdg-cache" / "cunn" / "mnist")
    # CUNN_DATA holding every file wins.
    monkeypatch.setenv("CUNN_DATA", str(data))
    assert mnist.locate(download=False) == str(data / "mnist")
    np.testing.assert_array_equal(mnist.load(download=False)[0][0], from_env["train"][0])
    # An incomplete CUNN_DATA folder falls back to the cache.
    os.remove(data / "mnist" / "train-labels-idx1-ubyte")
    np.testing.assert_array_equal(mnist.load(download=False)[0][0], cached["train"][0])
    monkeypatch.delenv("CUNN_DATA")
    assert mnist.locate(download=False) == mnist.cache_dir()


def test_cache_dir_default(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "cunn", "mnist")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG spec says
    assert mnist.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "cunn", "mnist")


def test_root_must_be_a_folder(tmp_path):
    with pytest.raises(TypeError, match="root must be a path"):
        mnist.load(root=3)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="root must be a folder"):
        mnist.load(root=tmp_path / "file")


def test_mnist_dataset_items(tmp_path):
    arrays = make_idx_folder(tmp_path)
    raw = MNIST(root=tmp_path, train=False, download=False)
    assert len(raw) == 5
    image, label = raw[2]
    assert type(label) is int and label == arrays["test"][1][2]
    np.testing.assert_array_equal(np.asarray(image), arrays["test"][0][2])
    assert not raw.data.flags.writeable  # shared with the cache: read-only
    dataset = MNIST(root=tmp_path, transform=ToTensor(), target_transform=lambda t: t + 100)
    image, label = dataset[-1]
    assert np.asarray(image).shape == (1, 28, 28) and np.asarray(image).dtype == np.float32
    assert label == arrays["train"][1][-1] + 100
    with pytest.raises(IndexError, match="MNIST: index 7 is out of range for 7 items"):
        dataset[7]
    with pytest.raises(TypeError, match="transform must be callable"):
        MNIST(root=tmp_path, transform="ToTensor")


PIPELINES = [
    None,
    ToTensor(),
    Compose([ToTensor(), Normalize((0.1307,), (0.3081,))]),
    Compose([ToTensor(), Normalize((0.1307,), (0.3081,)), Flatten()]),
    Compose([ToTensor(), Lambda(lambda x: np.asarray(x)[:, ::2, ::2])]),
]


@pytest.mark.parametrize("transform", PIPELINES)
def test_batched_fetch_equals_per_item(tmp_path, transform):
    make_idx_folder(tmp_path, train=23)
    dataset = MNIST(root=tmp_path, transform=transform, download=False)
    indices = np.array([5, 0, 22, 5, 13])
    images, labels = (np.asarray(part) for part in
                      next(iter(DataLoader(dataset, batch_size=5, shuffle=False))))
    fetched = dataset.get_batch(indices)
    items = [dataset[int(i)] for i in indices]
    stacked = np.stack([np.asarray(item[0]) for item in items])
    np.testing.assert_array_equal(np.asarray(fetched[0]), stacked)
    np.testing.assert_array_equal(np.asarray(fetched[1]), [item[1] for item in items])
    assert labels.dtype == np.int64 and len(images) == 5
    np.testing.assert_array_equal(images, np.stack([np.asarray(dataset[i][0]) for i in range(5)]))


# ---- the real MNIST files (CUNN_DATA) ----

@pytest.mark.mnist
def test_real_mnist_checksums():
    folder = real_mnist_folder()
    for name in mnist.FILES:
        with gzip.open(os.path.join(folder, name + ".gz"), "rb") as stream:
            digest = hashlib.sha256(stream.read()).hexdigest()
        assert digest == mnist.SHA256[name], name


@pytest.mark.mnist
def test_real_mnist_load(monkeypatch):
    folder = real_mnist_folder()
    monkeypatch.setenv("CUNN_DATA", os.path.dirname(folder))
    (x_train, y_train), (x_test, y_test) = mnist.load(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.min() == 0 and x_train.max() == 255
    # Every digit present, none dominating (MNIST: each class is 9-11.3% of a split).
    for labels in (y_train, y_test):
        counts = np.bincount(labels, minlength=10)
        assert len(counts) == 10 and counts.min() > 0.08 * len(labels)
        assert counts.max() < 0.12 * len(labels)
    assert np.bincount(y_train).tolist()[:2] == [5923, 6742]
    # Mean pixel intensity: the 0.1307 of the usual Normalize((0.1307,), (0.3081,)).
    total = square = 0.0
    for start in range(0, 60000, 10000):  # chunked: no 60000x784 float64 temporary
        chunk = x_train[start:start + 10000].reshape(-1).astype(np.float64) / 255
        total += chunk.sum()
        square += chunk @ chunk
    mean = total / x_train.size
    std = np.sqrt(square / x_train.size - mean ** 2)
    assert abs(mean - 0.1307) < 5e-4 and abs(std - 0.3081) < 5e-4


@pytest.mark.mnist
def test_real_mnist_dataset_through_loader(monkeypatch):
    folder = real_mnist_folder()
    monkeypatch.setenv("CUNN_DATA", os.path.dirname(folder))
    dataset = MNIST(train=False, transform=Compose([ToTensor(), Normalize((0.1307,),
                                                                          (0.3081,))]))
    assert len(dataset) == 10000 and dataset.root == folder
    loader = DataLoader(dataset, batch_size=1000, shuffle=True, seed=0)
    total, labels = 0, []
    for images, targets in loader:
        images = np.asarray(images)
        assert images.shape[1:] == (1, 28, 28) and images.dtype == np.float32
        assert images.min() >= (0 - 0.1307) / 0.3081 - 1e-5
        assert images.max() <= (1 - 0.1307) / 0.3081 + 1e-5
        total += len(images)
        labels.append(np.asarray(targets))
    assert total == 10000
    np.testing.assert_array_equal(np.sort(np.concatenate(labels)), np.sort(dataset.targets))
