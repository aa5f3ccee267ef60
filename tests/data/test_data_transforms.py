"""Transforms: torchvision's values on one item, and the batched path equal to stacking items."""
import numpy as np
import pytest

from cunn.data import default_collate
from cunn.data.transforms import Compose, Flatten, Lambda, Normalize, ToTensor, apply_batch

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)


def test_to_tensor_item():
    out = np.asarray(ToTensor()(IMAGES[0]))
    assert out.shape == (1, 28, 28) and out.dtype == np.float32
    # Exact: float32 division by 255, as torchvision.
    np.testing.assert_array_equal(out[0], IMAGES[0].astype(np.float32) / np.float32(255))
    assert out.min() >= 0 and out.max() <= 1
    extremes = np.asarray(ToTensor()(np.array([[0, 255]], np.uint8)))
    np.testing.assert_array_equal(extremes, [[[0.0, 1.0]]])


def test_to_tensor_batch_and_channels_last():
    out = np.asarray(ToTensor().batch(IMAGES))
    assert out.shape == (6, 1, 28, 28) and out.dtype == np.float32
    hwc = RNG.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    item = np.asarray(ToTensor()(hwc))
    assert item.shape == (3, 4, 5) and item.flags.c_contiguous
    np.testing.assert_array_equal(item[2], hwc[:, :, 2].astype(np.float32) / 255)
    batch = np.asarray(ToTensor().batch(np.stack([hwc, hwc])))
    assert batch.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(batch[1], item)


def test_to_tensor_float_and_errors():
    floats = np.full((2, 2), 0.5, np.float64)
    out = np.asarray(ToTensor()(floats))
    assert out.dtype == np.float32 and out.shape == (1, 2, 2) and (out == 0.5).all()
    with pytest.raises(TypeError, match="ToTensor: image must be uint8 or floating"):
        ToTensor()(np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match=r"ToTensor: image must be \(H, W\)"):
        ToTensor()(np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        ToTensor().batch(np.zeros((5, 5), np.uint8))


def test_normalize_single_and_per_channel():
    x = np.asarray(ToTensor()(IMAGES[0]))
    out = np.asarray(Normalize((0.1307,), (0.3081,))(x))
    expected = (x - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    rgb = RNG.random((3, 4, 4)).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (1.0, 2.0, 4.0)
    out = np.asarray(Normalize(mean, std)(rgb))
    for channel in range(3):
        np.testing.assert_array_equal(out[channel], (rgb[channel] - np.float32(mean[channel]))
                                      / np.float32(std[channel]))
    batch = np.asarray(Normalize(mean, std).batch(np.stack([rgb, rgb])))
    np.testing.assert_array_equal(batch[1], out)
    # Does not modify its input.
    before = rgb.copy()
    Normalize(mean, std)(rgb)
    np.testing.assert_array_equal(rgb, before)
    # float64 input stays float64 (computed in its precision).
    assert np.asarray(Normalize(0.5, 0.5)(rgb.astype(np.float64))).dtype == np.float64


def test_normalize_errors():
    with pytest.raises(ValueError, match="std must not contain zeros"):
        Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match="same length"):
        Normalize((0.5, 0.5), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="3 channels on axis -3"):
        Normalize((0, 0, 0), (1, 1, 1))(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(TypeError, match="use ToTensor first"):
        Normalize(0.5, 0.5)(IMAGES[0])


def test_flatten():
    assert np.asarray(Flatten()(np.zeros((1, 28, 28), np.float32))).shape == (784,)
    flat = np.asarray(Flatten().batch(np.arange(24).reshape(2, 1, 3, 4)))
    assert flat.shape == (2, 12)
    np.testing.assert_array_equal(flat[1], np.arange(12, 24))


PIPELINES = [
    Compose([ToTensor()]),
    Compose([ToTensor(), Normalize((0.1307,), (0.3081,))]),
    Compose([ToTensor(), Normalize((0.1307,), (0.3081,)), Flatten()]),
    Compose([ToTensor(), Flatten(), Normalize(0.5, 0.25)]),
    Compose([ToTensor(), Lambda(lambda x: np.asarray(x) * 2)]),
    lambda image: np.asarray(image, dtype=np.float32) + 1,
]


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_batch_equals_stacked_items(pipeline):
    batched = np.asarray(apply_batch(pipeline, IMAGES))
    stacked = np.asarray(default_collate([pipeline(image) for image in IMAGES]))
    assert batched.shape == stacked.shape and batched.dtype == stacked.dtype
    np.testing.assert_array_equal(batched, stacked)


def test_compose_checks_and_repr():
    with pytest.raises(TypeError, match="Compose: every transform must be callable"):
        Compose([ToTensor(), 3])
    text = repr(Compose([ToTensor(), Normalize((0.5,), (0.5,))]))
    assert "ToTensor()" in text and "Normalize(mean=[0.5], std=[0.5])" in text
