"""MNIST.get_batch's fused path (backend normalize_images for ToTensor [+ Normalize]
[+ Flatten]) gives the same bits, shapes and types as the generic transform path, and
transforms outside that pattern still take the generic path."""
import numpy as np
import pytest

import cunn
from cunn._backends import get
from cunn.data import MNIST, DataLoader, mnist
from cunn.data.transforms import Compose, Flatten, Lambda, Normalize, ToTensor, apply_batch
from data_helpers import make_idx_folder, real_mnist_folder

MEAN, STD = 0.1307, 0.3081


@pytest.fixture
def folder(tmp_path):
    make_idx_folder(tmp_path, train=300, test=20, seed=7)
    return tmp_path


def generic(dataset, indices):
    """What get_batch computed before the fused path: np.take, then the transform."""
    images = apply_batch(dataset.transform, np.take(dataset.data, indices, axis=0))
    return images, np.take(dataset.targets, indices)


def assert_same_batch(got, want):
    (images, labels), (want_images, want_labels) = got, want
    assert isinstance(images, cunn.Tensor)
    got_array, want_array = images.numpy(), np.asarray(want_images.numpy())
    assert got_array.dtype == want_array.dtype == np.float32
    assert got_array.shape == want_array.shape
    np.testing.assert_array_equal(got_array.view(np.uint32), want_array.view(np.uint32))
    np.testing.assert_array_equal(labels, want_labels)


PATTERNS = {
    "ToTensor": lambda: ToTensor(),
    "Compose-ToTensor": lambda: Compose([ToTensor()]),
    "Normalize": lambda: Compose([ToTensor(), Normalize((MEAN,), (STD,))]),
    "Flatten": lambda: Compose([ToTensor(), Flatten()]),
    "Normalize-Flatten": lambda: Compose([ToTensor(), Normalize((MEAN,), (STD,)), Flatten()]),
    "scalar-Normalize": lambda: Compose([ToTensor(), Normalize(0.5, 0.25), Flatten()]),
}


@pytest.fixture(params=["cpu", "numpy"])
def backend_name(request):
    with cunn.backend(request.param):
        yield request.param


@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("batch", [1, 64, 300])
def test_fast_path_equals_generic_path(folder, pattern, batch, backend_name):
    dataset = MNIST(root=folder, download=False, transform=PATTERNS[pattern]())
    assert mnist._fused_plan(dataset.transform) is not None
    indices = np.random.default_rng(batch).permutation(300)[:batch].astype(np.int64)
    assert_same_batch(dataset.get_batch(indices), generic(dataset, indices))


def test_fast_path_calls_the_backend_kernel(folder, monkeypatch):
    calls = []
    cpu = get("cpu")
    original = cpu.normalize_images

    def spy(*args):
        calls.append(args[2:])
        return original(*args)

    monkeypatch.setattr(cpu, "normalize_images", spy)
    dataset = MNIST(root=folder, download=False,
                    transform=Compose([ToTensor(), Normalize((MEAN,), (STD,)), Flatten()]))
    with cunn.backend("cpu"):
        images, _ = dataset.get_batch(np.arange(5, dtype=np.int64))
    assert calls == [(MEAN, STD)] and images.shape == (5, 784)
    dataset.transform = ToTensor()  # reassigned: decided again
    with cunn.backend("cpu"):
        images, _ = dataset.get_batch(np.arange(5, dtype=np.int64))
    assert calls[-1] == (0.0, 1.0) and images.shape == (5, 1, 28, 28)


OUTSIDE = {
    "Normalize-twice": lambda: Compose([ToTensor(), Normalize((MEAN,), (STD,)),
                                        Normalize((0.2,), (0.7,))]),
    "Lambda": lambda: Compose([ToTensor(), Lambda(lambda x: x * 2)]),
    "Normalize-first": lambda: Compose([Normalize((MEAN,), (STD,)), ToTensor()]),
    "Flatten-then-Normalize": lambda: Compose([ToTensor(), Flatten(), Normalize((MEAN,), (STD,))]),
    "three-channel-Normalize": lambda: Compose([ToTensor(),
                                                Normalize((0.1, 0.2, 0.3), (1.0, 1.0, 1.0))]),
    "plain-function": lambda: (lambda image: np.asarray(image, np.float32) + 1),
    "ToTensor-subclass": lambda: type("MyToTensor", (ToTensor,), {})(),
}


@pytest.mark.parametrize("pattern", list(OUTSIDE))
def test_transforms_outside_the_pattern_take_the_generic_path(folder, pattern, monkeypatch):
    def refuse(*args):
        raise AssertionError("the fused kernel must not be used for this transform")

    for name in ("cpu", "numpy"):
        monkeypatch.setattr(get(name), "normalize_images", refuse)
    dataset = MNIST(root=folder, download=False, transform=OUTSIDE[pattern]())
    assert mnist._fused_plan(dataset.transform) is None
    indices = np.arange(0, 300, 37, dtype=np.int64)
    try:
        want_images, want_labels = generic(dataset, indices)
    except (TypeError, ValueError) as error:  # the generic path's own refusal, unchanged
        with pytest.raises(type(error)):
            dataset.get_batch(indices)
        return
    images, labels = dataset.get_batch(indices)
    np.testing.assert_array_equal(np.asarray(images), np.asarray(want_images))
    np.testing.assert_array_equal(labels, want_labels)


def test_edited_compose_is_decided_again(folder):
    transform = Compose([ToTensor(), Normalize((MEAN,), (STD,))])
    dataset = MNIST(root=folder, download=False, transform=transform)
    indices = np.arange(10, dtype=np.int64)
    assert dataset.get_batch(indices)[0].shape == (10, 1, 28, 28)
    transform.transforms.append(Flatten())
    assert_same_batch(dataset.get_batch(indices), generic(dataset, indices))
    transform.transforms.append(Lambda(lambda x: x))
    assert_same_batch(dataset.get_batch(indices), generic(dataset, indices))


def test_negative_and_other_indices_keep_np_take_semantics(folder):
    dataset = MNIST(root=folder, download=False,
                    transform=Compose([ToTensor(), Normalize((MEAN,), (STD,)), Flatten()]))
    for indices in (np.array([-1, 0, -300], np.int64), np.array([3, 1], np.int32), [5, 6]):
        assert_same_batch(dataset.get_batch(indices), generic(dataset, np.asarray(indices)))
    with pytest.raises(IndexError):
        dataset.get_batch(np.array([300], np.int64))


def test_target_transform_and_loader(folder):
    dataset = MNIST(root=folder, download=False, target_transform=lambda label: label + 1,
                    transform=Compose([ToTensor(), Normalize((MEAN,), (STD,)), Flatten()]))
    indices = np.array([4, 2, 9], np.int64)
    images, labels = dataset.get_batch(indices)
    np.testing.assert_array_equal(np.asarray(labels), dataset.targets[indices] + 1)
    batches = list(DataLoader(dataset, batch_size=64, shuffle=True, seed=0))
    assert [len(x) for x, _ in batches] == [64, 64, 64, 64, 44]
    assert all(x.shape[1:] == (784,) for x, _ in batches)


def test_real_mnist_fast_path_equals_generic_path():
    dataset = MNIST(root=real_mnist_folder(), download=False, train=False,
                    transform=Compose([ToTensor(), Normalize((MEAN,), (STD,)), Flatten()]))
    indices = np.random.default_rng(0).permutation(len(dataset)).astype(np.int64)
    assert_same_batch(dataset.get_batch(indices), generic(dataset, indices))
