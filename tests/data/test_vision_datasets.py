"""cunn.vision.datasets.MNIST / FashionMNIST in torchvision's layout: the files in
root/<Name>/raw/, downloads from (local, fake) mirrors with SHA-256 checks, no folder made
unless a download writes into it, .data/.targets/.classes, items and batches."""
import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest

import cunn
from cunn.data import DatasetError, mnist
from cunn.vision import datasets, transforms
from data_helpers import closed_port_url, make_idx_folder, real_mnist_folder

TIMEOUT = 5.0


def _serve_idx(served, sub, seed=0):
    """A mirror folder of gzip IDX files; returns (arrays, checksums of the plain files)."""
    plain = served / (sub + "-plain")
    arrays = make_idx_folder(plain, train=6, test=4, seed=seed)
    os.makedirs(served / sub, exist_ok=True)
    checksums = {}
    for name in mnist.FILES:
        content = (plain / name).read_bytes()
        (served / sub / (name + ".gz")).write_bytes(gzip.compress(content))
        checksums[name] = hashlib.sha256(content).hexdigest()
    return arrays, checksums


@pytest.mark.parametrize("dataset_class", [datasets.MNIST, datasets.FashionMNIST])
def test_reads_torchvisions_layout(tmp_path, dataset_class):
    name = dataset_class.__name__
    arrays = make_idx_folder(tmp_path / name / "raw", train=7, test=5, gz=True)
    train = dataset_class(str(tmp_path), train=True)
    test = dataset_class(tmp_path, train=False)
    assert len(train) == 7 and len(test) == 5
    assert isinstance(train.data, cunn.Tensor) and train.data.dtype == cunn.uint8
    assert train.data.shape == (7, 28, 28) and train.targets.dtype == cunn.int64
    np.testing.assert_array_equal(train.data.numpy(), arrays["train"][0])
    np.testing.assert_array_equal(test.targets.numpy(), arrays["test"][1])
    image, label = train[3]
    assert type(image) is np.ndarray and image.dtype == np.uint8 and image.shape == (28, 28)
    assert type(label) is int and label == arrays["train"][1][3]
    assert len(train.classes) == 10 and train.class_to_idx[train.classes[2]] == 2
    assert train.raw_folder == os.path.join(str(tmp_path), name, "raw")
    assert f"Dataset {name}" in repr(train) and "Split: Train" in repr(train)


def test_classes_are_torchvisions():
    assert datasets.MNIST.classes[0] == "0 - zero" and datasets.MNIST.classes[9] == "9 - nine"
    assert datasets.FashionMNIST.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress",
                                             "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                             "Ankle boot"]


def test_transforms_items_and_batches_agree(tmp_path):
    make_idx_folder(tmp_path / "MNIST" / "raw", train=9, test=3)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,),
                                                                                 (0.3081,))])
    dataset = datasets.MNIST(tmp_path, transform=transform, target_transform=lambda y: y + 100)
    image, label = dataset[2]
    assert image.shape == (1, 28, 28) and label >= 100
    images, labels = next(iter(cunn.utils.data.DataLoader(dataset, batch_size=9)))
    assert images.shape == (9, 1, 28, 28) and labels.dtype == cunn.int64
    np.testing.assert_allclose(images.numpy()[2], image.numpy(), rtol=1e-6, atol=1e-6)
    assert int(labels[2]) == label


def test_missing_files_without_download_create_nothing(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="download=True"):
        datasets.MNIST(root, download=False)
    with pytest.raises(FileNotFoundError, match="FashionMNIST"):
        datasets.FashionMNIST(root)
    assert not root.exists()


def test_failed_download_leaves_no_folder(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="could not download"):
        datasets.FashionMNIST(root, download=True, mirrors=[closed_port_url()],
                              timeout=TIMEOUT, progress=False)
    assert not root.exists()
    # the older API keeps its behaviour and creates nothing either
    with pytest.raises(FileNotFoundError):
        cunn.data.MNIST(root / "flat", download=True, mirrors=[closed_port_url()],
                        timeout=TIMEOUT, progress=False)
    assert not root.exists()


def test_download_fills_the_raw_folder_with_verified_files(tmp_path, http_server, monkeypatch):
    base, served = http_server
    arrays, checksums = _serve_idx(served, "fashion", seed=3)
    monkeypatch.setattr(datasets.FashionMNIST, "checksums", checksums)
    dataset = datasets.FashionMNIST(tmp_path / "data", train=False, download=True,
                                    mirrors=[closed_port_url(), base + "fashion/"],
                                    timeout=TIMEOUT, progress=False)
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(name + ".gz" for name in mnist.FILES)
    np.testing.assert_array_equal(dataset.data.numpy(), arrays["test"][0])
    # present files are not fetched again: with no mirror reachable it still loads
    again = datasets.FashionMNIST(tmp_path / "data", download=True, mirrors=[closed_port_url()],
                                  timeout=TIMEOUT, progress=False)
    np.testing.assert_array_equal(again.targets.numpy(), arrays["train"][1])


def test_download_rejects_files_failing_the_checksum(tmp_path, http_server):
    base, served = http_server
    _serve_idx(served, "tampered", seed=4)  # not the real MNIST: every checksum fails
    with pytest.raises(DatasetError, match="SHA-256"):
        datasets.MNIST(tmp_path / "data", download=True, mirrors=[base + "tampered/"],
                       timeout=TIMEOUT, progress=False)
    assert not (tmp_path / "data").exists()


def test_default_mirrors_and_checksums_are_the_public_ones():
    assert datasets.MNIST.checksums is mnist.SHA256
    assert all(url.startswith(("http://", "https://")) for url in datasets.FASHION_MIRRORS)
    assert set(datasets.FashionMNIST.checksums) == set(mnist.FILES)


def test_real_mnist_in_torchvisions_layout(tmp_path):
    folder = real_mnist_folder()
    raw = tmp_path / "MNIST" / "raw"
    os.makedirs(raw)
    for name in os.listdir(folder):
        shutil.copy(os.path.join(folder, name), raw)
    train = datasets.MNIST(tmp_path, train=True, download=True, mirrors=[closed_port_url()])
    assert train.data.shape == (60000, 28, 28) and train.targets[:5].tolist() == [5, 0, 4, 1, 9]


def test_fashion_mnist_checksums_match_a_local_copy(tmp_path):
    folder = "/usr/share/datasets/fashion-mnist"
    if not all(os.path.isfile(os.path.join(folder, name + ".gz")) for name in mnist.FILES):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist puts it "
                    "in /usr/share/datasets/fashion-mnist)")
    for name in mnist.FILES:
        with gzip.open(os.path.join(folder, name + ".gz"), "rb") as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == datasets.FASHION_SHA256[name]
