"""embedding: compiled kernels against the NumPy reference (bit for bit: a gather, and sums
in index order), across thread counts, with repeated indices and padding_idx; bad indices
never read or written out of bounds.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")

CASES = [(10, 7, (4, 6)), (1, 1, (5,)), (1000, 64, (32, 50)), (3, 129, (2, 3, 4)),
         (50, 5, ()), (8, 3, (0,)), (5000, 16, (4096,))]


@pytest.mark.parametrize("padding_idx", [-1, 0, 2])
@pytest.mark.parametrize("num_embeddings, dim, index_shape", CASES)
def test_matches_reference(num_embeddings, dim, index_shape, padding_idx, setting):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((num_embeddings, dim)).astype(np.float32)
    # A small range of indices so most repeat.
    indices = rng.integers(0, min(num_embeddings, 7), index_shape)
    padding = padding_idx if padding_idx < num_embeddings else -1
    out = cpu.embedding_forward(weight, indices)
    assert out.shape == index_shape + (dim,)
    np.testing.assert_array_equal(out, ref.embedding_forward(weight, indices))
    grad = rng.standard_normal(out.shape).astype(np.float32)
    got = cpu.embedding_backward(grad, indices, num_embeddings, padding)
    want = ref.embedding_backward(grad, indices, num_embeddings, padding)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_same_bits_for_any_thread_count():
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 300, (20000,))
    grad = rng.standard_normal((20000, 40)).astype(np.float32)
    saved = _C.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            _C.set_num_threads(threads)
            results.append(cpu.embedding_backward(grad, indices, 300, -1))
    finally:
        _C.set_num_threads(saved)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0].view(np.uint32), other.view(np.uint32))


@pytest.mark.parametrize("bad", [-1, 10, 2**62, -(2**63)])
def test_bad_indices_raise_index_error(bad):
    weight = np.ones((10, 3), np.float32)
    indices = np.array([1, 2, bad, 3], np.int64)
    with pytest.raises(IndexError, match=r"embedding_forward: indices must be in \[0, 10\), "
                                         rf"got {bad} at flat position 2"):
        _C.embedding_forward(weight, indices)
    with pytest.raises(IndexError, match=r"embedding_backward: indices must be in \[0, 10\)"):
        _C.embedding_backward(np.ones((4, 3), np.float32), indices, 10, -1)


def test_binding_checks():
    weight = np.ones((10, 3), np.float32)
    with pytest.raises(TypeError, match="embedding_forward: indices must be int64"):
        _C.embedding_forward(weight, np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match="embedding_forward: weight must be 2-D"):
        _C.embedding_forward(weight.ravel(), np.array([1], np.int64))
    with pytest.raises(ValueError, match="embedding_backward: grad_output must be indices' shape"):
        _C.embedding_backward(np.ones((3, 3), np.float32), np.array([1, 2], np.int64), 10, -1)
    with pytest.raises(ValueError, match="num_embeddings must be >= 0"):
        _C.embedding_backward(np.ones((2, 3), np.float32), np.array([1, 2], np.int64), -1, -1)
