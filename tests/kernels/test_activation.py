"""Compiled relu / leaky_relu / sigmoid / tanh against the NumPy reference, and the
reference's own gradients against float64 finite differences.

Tolerances: relu and leaky_relu (and all backward passes, which are one or two float32
multiplies of the same operands) are compared exactly or to 1 ulp-level (rtol 1e-6);
sigmoid and tanh forward use rtol 2e-6 (a few ulp: the SIMD exp is within 2 ulp, libm
within 1) and atol 1e-37, because the SIMD paths flush results below FLT_MIN to 0
(sigmoid(-90) = 8e-40 in exact arithmetic). Finite differences: central, step 1e-6 in
float64, rtol 1e-6, atol 1e-8.
"""
import numpy as np
import pytest

from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")
SIZES = [1, 7, 8, 9, 15, 16, 17, 31, 33, 97, 1000 * 1003]


def inputs(size, seed=0, scale=4.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(size) * scale).astype(np.float32)


SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-5, -1e-5, 0.3999, 0.4, 0.4001, -0.4,
                    1.0, -1.0, 9.0, -9.0, 20.0, -20.0, 44.0, -44.0, 87.0, -87.0, 88.0,
                    -88.0, 90.0, -90.0, 100.0, -100.0, 1e30, -1e30, np.inf, -np.inf, np.nan],
                   np.float32)


def assert_same_nan(got, want):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("size", SIZES)
def test_relu_and_leaky_relu(size, setting):
    x = inputs(size)
    np.testing.assert_array_equal(cpu.relu_forward(x), ref.relu_forward(x))
    g = inputs(size, 1)
    np.testing.assert_array_equal(cpu.relu_backward(g, x), ref.relu_backward(g, x))
    for slope in (0.01, 0.2):
        np.testing.assert_array_equal(cpu.leaky_relu_forward(x, slope),
                                      ref.leaky_relu_forward(x, slope))
        np.testing.assert_array_equal(cpu.leaky_relu_backward(g, x, slope),
                                      ref.leaky_relu_backward(g, x, slope))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh(name, size, setting):
    x = inputs(size)
    got = getattr(cpu, name + "_forward")(x)
    want = getattr(ref, name + "_forward")(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-37)
    g = inputs(size, 1)
    np.testing.assert_allclose(getattr(cpu, name + "_backward")(g, want),
                               getattr(ref, name + "_backward")(g, want), rtol=1e-6, atol=1e-37)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_special_values(name, setting):
    x = np.concatenate([SPECIAL, -SPECIAL])
    got = getattr(cpu, name + "_forward")(x)
    with np.errstate(all="ignore"):
        want = getattr(ref, name + "_forward")(x)
    assert_same_nan(got, want)
    assert np.isnan(got[np.isnan(x)]).all()  # NaN propagates
    finite = ~np.isnan(x)
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-6, atol=1e-37)
    if name == "sigmoid":
        assert got[x == 90][0] == 1.0 and 0.0 <= got[x == -90][0] < 1e-38
    if name == "tanh":
        assert np.array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))  # tanh(-0) = -0


def test_shapes_and_non_contiguous():
    x = inputs(3 * 5 * 7).reshape(3, 5, 7)
    for name in ("relu", "sigmoid", "tanh"):
        forward = getattr(cpu, name + "_forward")
        np.testing.assert_allclose(forward(x.transpose(2, 0, 1)),
                                   getattr(ref, name + "_forward")(x.transpose(2, 0, 1)),
                                   rtol=2e-6)
        assert forward(x[:, ::2]).shape == (3, 3, 7)
        assert forward(np.float32(0.5) * np.ones((), np.float32)).shape == ()
        assert forward(np.ones((0, 4), np.float32)).shape == (0, 4)


def test_errors():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="relu_forward: x must be float32, got float64"):
        cpu.relu_forward(x.astype(np.float64))
    with pytest.raises(TypeError, match="sigmoid_backward: grad_output must be float32"):
        cpu.sigmoid_backward(x.astype(np.float16), x)
    with pytest.raises(ValueError, match=r"tanh_backward: grad_output must have shape \(2, 3\)"):
        cpu.tanh_backward(np.ones((3, 2), np.float32), x)
    with pytest.raises(ValueError, match="leaky_relu_backward: grad_output must have shape"):
        cpu.leaky_relu_backward(np.ones(6, np.float32), x, 0.1)


def finite_difference_check(forward, backward_from, x):
    """backward_from(grad_output, x, y) is the reference's analytic gradient."""
    rng = np.random.default_rng(7)
    g = rng.standard_normal(x.shape)
    analytic = backward_from(g, x, forward(x))
    step = 1e-6
    numeric = np.empty_like(x)
    for i in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[i] += step
        minus.flat[i] -= step
        numeric.flat[i] = np.sum(g * (forward(plus) - forward(minus))) / (2 * step)
    assert analytic.dtype == np.float64
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_reference_gradients_by_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5)) * 3
    x[np.abs(x) < 1e-3] = 0.5  # stay off the relu kink
    finite_difference_check(ref.relu_forward, lambda g, x, y: ref.relu_backward(g, x), x)
    finite_difference_check(lambda v: ref.leaky_relu_forward(v, 0.1),
                            lambda g, x, y: ref.leaky_relu_backward(g, x, 0.1), x)
    finite_difference_check(ref.sigmoid_forward, lambda g, x, y: ref.sigmoid_backward(g, y), x)
    finite_difference_check(ref.tanh_forward, lambda g, x, y: ref.tanh_backward(g, y), x)
