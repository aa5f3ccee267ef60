"""dropout: compiled kernels against the NumPy reference, and the reference's gradient
against float64 finite differences.

Tolerance: none. Both compute (x * mask) * scale with a float32 rounding after each
product, so results must match the reference bit for bit (NaN * 0 stays NaN in both).
Finite differences: central, step 1e-6, float64, rtol 1e-6, atol 1e-8.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")


def assert_same_bits(got, want):
    assert got.dtype == np.float32 and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def draw(shape, p=0.3, seed=0, mask_dtype=np.bool_):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    mask = (rng.random(shape) >= p).astype(mask_dtype)
    return x, mask


@pytest.mark.parametrize("mask_dtype", [np.bool_, np.uint8])
@pytest.mark.parametrize("scale", [1 / 0.7, 2.0, 1.0, 0.0, 1 / 0.9])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (33,), (64, 128), (3, 5, 7),
                                   (64, 32, 14, 14), (1_000_003,), (0,), (4, 0, 3)])
def test_dropout_matches_reference(shape, scale, mask_dtype, threads):
    x, mask = draw(shape, mask_dtype=mask_dtype)
    assert_same_bits(cpu.dropout_forward(x, mask, scale), ref.dropout_forward(x, mask, scale))
    grad = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    assert_same_bits(cpu.dropout_backward(grad, mask, scale),
                     ref.dropout_backward(grad, mask, scale))


def test_dropout_specials():
    x = np.array([np.nan, np.nan, np.inf, np.inf, -np.inf, -0.0, 3e38, 1e-45], np.float32)
    for mask in [np.array([1, 0, 1, 0, 0, 1, 1, 1], np.bool_),
                 np.array([1, 0, 1, 0, 1, 0, 1, 1], np.uint8),
                 np.array([2, 0, 3, 0, 1, 0, 1, 255], np.uint8)]:   # the reference multiplies by it
        for scale in (2.0, 1 / 0.3, 0.5):
            with np.errstate(invalid="ignore", over="ignore"):
                want = ref.dropout_forward(x, mask, scale)
            assert_same_bits(cpu.dropout_forward(x, mask, scale), want)


def test_dropout_noncontiguous_inputs(threads):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20, 30)).astype(np.float32)[::2, ::3]
    mask = (rng.random((20, 10)) > 0.5)[::2].T
    assert not x.flags.c_contiguous and not mask.flags.c_contiguous
    assert_same_bits(cpu.dropout_forward(x, mask, 1.25), ref.dropout_forward(x, mask, 1.25))
    assert_same_bits(cpu.dropout_backward(x.T, mask.T, 1.25),
                     ref.dropout_backward(x.T, mask.T, 1.25))


def test_dropout_same_for_any_thread_count():
    x, mask = draw((64, 32, 28, 28), seed=3)
    saved = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        single = cpu.dropout_forward(x, mask, 1.5)
        _C.set_num_threads(2)
        double = cpu.dropout_forward(x, mask, 1.5)
    finally:
        _C.set_num_threads(saved)
    np.testing.assert_array_equal(single, double)


@pytest.mark.parametrize("op", ["dropout_forward", "dropout_backward"])
def test_dropout_errors(op):
    function = getattr(cpu, op)
    arg = "x" if op == "dropout_forward" else "grad_output"
    x, mask = draw((4, 5))
    with pytest.raises(TypeError, match=f"{op}: {arg} must be float32, got float64"):
        function(x.astype(np.float64), mask, 2.0)
    with pytest.raises(TypeError, match=f"{op}: mask must be bool or uint8, got float32"):
        function(x, mask.astype(np.float32), 2.0)
    with pytest.raises(TypeError, match=f"{op}: mask must be bool or uint8, got int64"):
        function(x, mask.astype(np.int64), 2.0)
    with pytest.raises(ValueError, match=rf"{op}: mask must have shape \(4, 5\), got \(5, 4\)"):
        function(x, mask.T, 2.0)
    with pytest.raises(ValueError, match=rf"{op}: mask must have shape \(4, 5\), got \(5,\)"):
        function(x, mask[0], 2.0)
    with pytest.raises(ValueError, match=rf"{op}: mask must have shape"):
        getattr(ref, op)(x, mask.T, 2.0)


# --- NumPy reference gradient ---------------------------------------------------------------

def test_reference_dropout_gradient_by_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5))
    mask = rng.random((3, 4, 5)) > 0.4
    scale = 1 / 0.6
    assert ref.dropout_forward(x, mask, scale).dtype == np.float64
    grad_y = rng.standard_normal(x.shape)

    def loss():
        return float(np.sum(grad_y * ref.dropout_forward(x, mask, scale)))

    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + 1e-6
        plus = loss()
        x[index] = saved - 1e-6
        minus = loss()
        x[index] = saved
        grad[index] = (plus - minus) / 2e-6
    np.testing.assert_allclose(ref.dropout_backward(grad_y, mask, scale), grad, rtol=1e-6,
                               atol=1e-8)


# --- dropout2d: one mask entry per (sample, channel) plane -------------------------------------

@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 5), (4, 6, 7, 9), (64, 32, 14, 14),
                                   (3, 5, 0, 2), (0, 4, 3, 3)])
@pytest.mark.parametrize("mask_dtype", [np.bool_, np.uint8])
def test_dropout2d_matches_reference(shape, mask_dtype, threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float32)
    mask = (rng.random(shape[:2]) >= 0.4).astype(mask_dtype)
    assert_same_bits(cpu.dropout2d_forward(x, mask, 1 / 0.6), ref.dropout2d_forward(x, mask,
                                                                                     1 / 0.6))
    assert_same_bits(cpu.dropout2d_backward(x, mask, 1 / 0.6),
                     ref.dropout2d_backward(x, mask, 1 / 0.6))
    kept = cpu.dropout2d_forward(x, mask, 1.0)
    for n, c in np.ndindex(shape[:2]):
        assert (kept[n, c] == 0).all() or mask[n, c]


def test_dropout2d_errors():
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"dropout2d_forward: mask must have shape \(2, 3\)"):
        _C.dropout2d_forward(x, np.ones((2, 4), np.bool_), 2.0)
    with pytest.raises(ValueError, match=r"dropout2d_forward: x must be \(N, C, \*\)"):
        _C.dropout2d_forward(np.ones(3, np.float32), np.ones((3, 1), np.bool_), 2.0)
    with pytest.raises(TypeError, match="dropout2d_backward: mask must be bool or uint8"):
        _C.dropout2d_backward(x, np.ones((2, 3), np.float32), 2.0)
