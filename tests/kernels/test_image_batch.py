"""Compiled normalize_images (fused gather + ToTensor + Normalize of uint8 images) against
the NumPy twin: bit-identical, since both compute ((float32)x / 255 - mean) / std with the
same IEEE float32 operations in the same order. Row lengths around the vector widths (8,
16, 32) cover the SIMD tails; AVX-512, AVX2 and generic paths with 1 and 2 threads."""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from python_process import run_python

cpu = get("cpu")
ref = get("numpy")
ROW_SHAPES = [(1,), (15,), (17,), (33,), (7, 9), (28, 28), (3, 5, 7)]
CONSTANTS = [(0.0, 1.0), (0.1307, 0.3081), (0.5, 0.5), (-3.0, 1e-3)]


def dataset(count, item_shape, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count,) + item_shape, dtype=np.uint8)
    images.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)[: images.size]  # every byte value
    return images


def assert_bits_equal(got, want):
    assert got.dtype == np.float32 and want.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("item_shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("batch", [0, 1, 64])
@pytest.mark.parametrize("mean,std", CONSTANTS)
def test_matches_reference_bit_for_bit(item_shape, batch, mean, std, setting):
    images = dataset(100, item_shape)
    indices = np.random.default_rng(batch).integers(0, 100, size=batch).astype(np.int64)
    got = cpu.normalize_images(images, indices, mean, std)
    assert got.shape == (batch,) + item_shape
    assert_bits_equal(got, ref.normalize_images(images, indices, mean, std))


def test_large_batch_is_threaded_and_still_exact(setting):
    # 1000 x 784 elements is above the threading cut-off; repeated indices are fine.
    images = dataset(300, (28, 28), seed=3)
    indices = np.random.default_rng(4).integers(0, 300, size=1000).astype(np.int64)
    assert_bits_equal(cpu.normalize_images(images, indices, 0.1307, 0.3081),
                      ref.normalize_images(images, indices, 0.1307, 0.3081))


def test_reference_is_the_transform_math():
    # The twin is ToTensor then Normalize as cunn/data/transforms.py computes them.
    from cunn.data.transforms import Normalize, ToTensor

    images = dataset(20, (28, 28), seed=5)
    indices = np.array([19, 0, 7, 7], np.int64)
    want = Normalize((0.1307,), (0.3081,)).batch(ToTensor().batch(images[indices])).numpy()
    assert_bits_equal(ref.normalize_images(images, indices, 0.1307, 0.3081).reshape(want.shape),
                      want)


def test_read_only_images_and_list_indices():
    images = dataset(10, (4, 4))
    images.flags.writeable = False
    for backend in (cpu, ref):
        got = backend.normalize_images(images, [9, 0], np.float64(0.25), 2)
        assert_bits_equal(got, ref.normalize_images(images, np.array([9, 0]), 0.25, 2.0))


@pytest.mark.parametrize("backend", [cpu, ref], ids=["cpu", "numpy"])
@pytest.mark.parametrize("images,indices,mean,std,error,message", [
    (np.zeros((4, 3), np.float32), [0], 0.0, 1.0, TypeError, "images must be uint8"),
    (np.zeros((4, 3), np.int8), [0], 0.0, 1.0, TypeError, "images must be uint8"),
    ([[1, 2]], [0], 0.0, 1.0, TypeError, "images must be a NumPy array"),
    (np.zeros((), np.uint8), [0], 0.0, 1.0, ValueError, "leading"),
    (np.zeros((4, 6), np.uint8)[:, ::2], [0], 0.0, 1.0, ValueError, "C-contiguous"),
    (np.zeros((4, 3), np.uint8), np.array([0], np.int32), 0.0, 1.0, TypeError, "int64"),
    (np.zeros((4, 3), np.uint8), np.array([0.0]), 0.0, 1.0, TypeError, "int64"),
    (np.zeros((4, 3), np.uint8), np.array(0, np.int64), 0.0, 1.0, ValueError, "1-D"),
    (np.zeros((4, 3), np.uint8), np.zeros((1, 1), np.int64), 0.0, 1.0, ValueError, "1-D"),
    (np.zeros((4, 3), np.uint8), [0, 4], 0.0, 1.0, ValueError, r"\[0, 4\), got 4"),
    (np.zeros((4, 3), np.uint8), [2, -1], 0.0, 1.0, ValueError, r"\[0, 4\), got -1"),
    (np.zeros((0, 3), np.uint8), [0], 0.0, 1.0, ValueError, r"\[0, 0\)"),
    (np.zeros((4, 3), np.uint8), [0], 0.0, 0.0, ValueError, "std must be non-zero"),
    (np.zeros((4, 3), np.uint8), [0], 0.0, 1e-60, ValueError, "std must be non-zero"),
    (np.zeros((4, 3), np.uint8), [0], "0", 1.0, TypeError, "mean must be a float"),
    (np.zeros((4, 3), np.uint8), [0], 0.0, None, TypeError, "std must be a float"),
    (np.zeros((4, 3), np.uint8), [0], True, 1.0, TypeError, "mean must be a float"),
])
def test_errors(backend, images, indices, mean, std, error, message):
    with pytest.raises(error, match="^normalize_images: .*" + message):
        backend.normalize_images(images, indices, mean, std)


def test_binding_refuses_non_contiguous_indices():
    # The adapter makes indices contiguous; the binding itself refuses them.
    images = dataset(10, (3,))
    with pytest.raises(ValueError, match="^normalize_images: indices must be C-contiguous"):
        _C.normalize_images(images, np.arange(8, dtype=np.int64)[::2], 0.0, 1.0)
    strided = np.arange(8, dtype=np.int64)[::2]
    assert_bits_equal(cpu.normalize_images(images, strided, 0.0, 1.0),
                      ref.normalize_images(images, strided, 0.0, 1.0))


def test_empty_indices_on_empty_images():
    images = np.zeros((0, 28, 28), np.uint8)
    for backend in (cpu, ref):
        assert backend.normalize_images(images, np.zeros(0, np.int64), 0.0, 1.0).shape == \
            (0, 28, 28)


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_environment_forced_isa_is_exact(isa):
    # CUNN_CPU_ISA chosen before the first call: the portable / AVX2 rows from the start.
    if isa == "avx2" and not _C.cpu_features()["avx2"]:
        pytest.skip("this CPU has no AVX2")
    code = ("import numpy as np; from cunn import _C; from cunn._backends import get; "
            "x = np.random.default_rng(1).integers(0, 256, (50, 33), dtype=np.uint8); "
            "i = np.random.default_rng(2).integers(0, 50, 64).astype(np.int64); "
            "a = get('cpu').normalize_images(x, i, 0.1307, 0.3081); "
            "b = get('numpy').normalize_images(x, i, 0.1307, 0.3081); "
            "print(_C.isa(), np.array_equal(a.view(np.uint32), b.view(np.uint32)))")
    output = run_python(code, CUNN_CPU_ISA=isa).split()
    assert output == [isa, "True"]
