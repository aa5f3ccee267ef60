"""Compiled softmax / log_softmax (forward and backward, any dim) against the NumPy
reference, and the reference's gradients against float64 finite differences.

Tolerances: softmax rtol 1e-5, atol 1e-7 (probabilities, a few float32 roundings plus
the SIMD exp's 2 ulp); log_softmax rtol 1e-5, atol 2e-5 (values near 0 come from
cancelling x - max - log(sum), each term up to ~100 in the extreme tests);
backward rtol 1e-5, atol 1e-6 for softmax (y * (g - sum(g y)) cancels inside the
bracket; the compiled sum is in double, the reference's in float32) and as forward for
log_softmax. Finite differences: central, step 1e-6, float64, rtol 1e-5, atol 1e-8.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from cunn import _C
from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")
TOLERANCE = {"softmax": dict(rtol=1e-5, atol=1e-7), "log_softmax": dict(rtol=1e-5, atol=2e-5)}
BACKWARD_TOLERANCE = {"softmax": dict(rtol=1e-5, atol=1e-6),
                      "log_softmax": dict(rtol=1e-5, atol=2e-5)}


def check(name, x, dim, seed=1):
    got = getattr(cpu, name + "_forward")(x, dim)
    with np.errstate(all="ignore"):
        want = getattr(ref, name + "_forward")(x, dim)
    assert got.dtype == np.float32 and got.shape == x.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, **TOLERANCE[name])
    if np.isfinite(want).all():
        g = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
        np.testing.assert_allclose(getattr(cpu, name + "_backward")(g, want, dim),
                                   getattr(ref, name + "_backward")(g, want, dim),
                                   **BACKWARD_TOLERANCE[name])
    return got


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [
    ((1, 1), 1), ((64, 10), 1), ((64, 10), -1), ((64, 10), 0), ((1, 10), 1), ((10,), 0),
    ((7, 8), 1), ((9, 15), 1), ((3, 16), 1), ((2, 17), -1), ((5, 31), 1), ((4, 33), 1),
    ((3, 1009), 1), ((5, 7, 9), 1), ((5, 7, 9), 0), ((2, 3, 300), 1), ((2, 600, 3), -2),
    ((2, 3, 4, 5), 2), ((1000, 1003), 1), ((1000, 1003), 0), ((0, 4), 1), ((4, 0), 1), ((), 0),
])
def test_matches_reference(name, shape, dim, setting):
    x = (np.random.default_rng(0).standard_normal(shape) * 5).astype(np.float32)
    check(name, x, dim)


@settings(max_examples=40, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=12), data=st.data(),
       name=st.sampled_from(["softmax", "log_softmax"]))
def test_any_shape_and_dim(shape, data, name):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 5).astype(np.float32)
    check(name, x, dim)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_non_contiguous(name, setting):
    x = (np.random.default_rng(2).standard_normal((40, 33)) * 5).astype(np.float32)
    check(name, x.T, 1)
    check(name, x[::2, 1::3], 0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_extreme_values(name, setting):
    x = np.array([[100, -100, 0, 50], [-100, -100, -100, -100], [100, 100, 100, 100],
                  [0, -np.inf, 1, -np.inf], [-np.inf] * 4, [np.nan, 1, 2, 3]], np.float32)
    for dim in (1, 0):
        data = x if dim == 1 else np.ascontiguousarray(x.T)
        got = check(name, data, dim)
        row = got if dim == 1 else got.T
        assert np.isnan(row[4]).all() and np.isnan(row[5]).all()  # all -inf / NaN: NaN
        assert np.isfinite(row[:3]).all()
        if name == "softmax":
            np.testing.assert_allclose(row[:4].sum(1), 1.0, rtol=1e-6)
            assert row[3, 1] == 0 and row[3, 3] == 0
        else:
            assert row[3, 1] == -np.inf
            assert row[0, 1] == pytest.approx(-200.0, rel=1e-6)


def test_errors():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(IndexError, match=r"softmax_forward: dim must be in \[-2, 2\), got 2"):
        cpu.softmax_forward(x, 2)
    with pytest.raises(IndexError, match="log_softmax_backward: dim"):
        cpu.log_softmax_backward(x, x, -3)
    with pytest.raises(TypeError, match="log_softmax_forward: x must be float32, got float64"):
        cpu.log_softmax_forward(x.astype(np.float64), 1)
    with pytest.raises(ValueError, match="softmax_backward: grad_output must have shape"):
        cpu.softmax_backward(np.ones((3, 2), np.float32), x, 1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 5), 1), ((3, 4, 2), 1), ((4, 3), 0)])
def test_reference_gradients_by_finite_differences(name, shape, dim):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 2
    g = rng.standard_normal(shape)
    forward = getattr(ref, name + "_forward")
    y = forward(x, dim)
    assert y.dtype == np.float64
    analytic = getattr(ref, name + "_backward")(g, y, dim)
    numeric = np.empty_like(x)
    step = 1e-6
    for i in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[i] += step
        minus.flat[i] -= step
        numeric.flat[i] = np.sum(g * (forward(plus, dim) - forward(minus, dim))) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_results_do_not_depend_on_thread_count():
    x = (np.random.default_rng(4).standard_normal((300, 257)) * 5).astype(np.float32)
    saved = _C.get_num_threads()
    results = {}
    try:
        for threads in (1, 2):
            _C.set_num_threads(threads)
            results[threads] = [getattr(cpu, name + "_forward")(x, dim)
                                for name in ("softmax", "log_softmax") for dim in (0, 1)]
    finally:
        _C.set_num_threads(saved)
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)
