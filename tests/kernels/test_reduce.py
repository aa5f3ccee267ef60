"""Compiled sum / max against the NumPy reference and against exact (float64) sums.

Tolerances: sum accumulates in double in a fixed order, so against numpy's float64 sum
of the same float32 values it must be within one float32 rounding of the result:
|got - exact| <= 6e-8 |exact| + 1e-12 sum|x|. Against the reference (float32 pairwise
sums) rtol 1e-5 with atol 1e-6 * sum|x|. max values and indices are exact. Results
must be bit-identical with 1 and 2 threads.
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


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check_sum(x, dims, keepdim=False):
    got = cpu.sum(x, dims, keepdim)
    want = ref.sum(x, dims, keepdim)
    axis = dims if dims is None or isinstance(dims, int) else tuple(dims)
    exact = np.sum(x.astype(np.float64), axis=axis, keepdims=keepdim)
    assert got.dtype == np.float32 and got.shape == np.shape(exact) == want.shape
    scale = np.sum(np.abs(x.astype(np.float64)), axis=axis, keepdims=keepdim)
    assert np.all(np.abs(got - exact) <= 6e-8 * np.abs(exact) + 1e-12 * scale)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * max(1.0, float(np.max(scale, initial=0))))
    return got


@pytest.mark.parametrize("shape,dims", [
    ((1,), None), ((7,), None), ((8,), 0), ((9,), (0,)), ((15,), None), ((16,), None),
    ((17,), None), ((31,), None), ((33,), None), ((1009,), None), ((1_000_003,), None),
    ((64, 128), (0,)), ((64, 128), 1), ((64, 128), (0, 1)), ((64, 128), (-1, -2)),
    ((5, 7, 9), 1), ((5, 7, 9), (0, 2)), ((2, 3, 4, 5, 6), (0, 2, 4)), ((2, 3, 4, 5, 6), (1, 3)),
    ((1000, 1003), 0), ((1000, 1003), 1), ((1000, 1003), None), ((100000, 3), 0),
    ((3, 1, 4), 1), ((3, 0, 4), 1), ((3, 0, 4), None), ((), None), ((4, 5), ()),
])
def test_sum(shape, dims, threads):
    x = data(shape)
    check_sum(x, dims)
    check_sum(x, dims, keepdim=True)


@settings(max_examples=50, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=5, max_side=7), choice=st.data())
def test_sum_any_axes(shape, choice):
    axes = choice.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    dims = tuple(a - len(shape) if choice.draw(st.booleans()) else a for a in axes)
    check_sum(data(shape, len(shape)), dims, choice.draw(st.booleans()))


def test_sum_non_contiguous_and_deterministic():
    x = data((1003, 1000))
    check_sum(x.T, (0,))
    check_sum(x[::3, 1::2], (1,))
    results = {}
    for threads in (1, 2):
        _C.set_num_threads(threads)
        results[threads] = [cpu.sum(x, dims) for dims in (None, (0,), (1,))] + [
            cpu.sum(data((3_000_001,), 1), None)]
    _C.set_num_threads(2)
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


def test_sum_special_values():
    x = np.array([[1, np.inf, 2], [np.nan, 1, 2], [np.inf, -np.inf, 0]], np.float32)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(cpu.sum(x, (1,)), ref.sum(x, (1,)))
        np.testing.assert_array_equal(cpu.sum(x, (0,)), ref.sum(x, (0,)))


@pytest.mark.parametrize("shape,dim", [
    ((1,), 0), ((17,), 0), ((64, 10), 1), ((64, 10), 0), ((64, 10), -1), ((5, 7, 9), 1),
    ((2, 3, 600), 2), ((2, 600, 3), 1), ((1000, 1003), 0), ((1000, 1003), 1), ((3, 0), 0),
])
def test_max(shape, dim, threads):
    rng = np.random.default_rng(1)
    for x in (data(shape), rng.integers(-2, 3, shape).astype(np.float32)):  # many ties
        for keepdim in (False, True):
            values, indices = cpu.max(x, dim, keepdim)
            want_values, want_indices = ref.max(x, dim, keepdim)
            assert values.dtype == np.float32 and indices.dtype == np.int64
            # assert_array_equal broadcasts, so the shapes are compared on their own
            assert values.shape == want_values.shape == indices.shape == want_indices.shape
            np.testing.assert_array_equal(values, want_values)
            np.testing.assert_array_equal(indices, want_indices)
            if x.size:  # first index of the maximum
                np.testing.assert_array_equal(
                    np.squeeze(indices, dim) if keepdim else indices, np.argmax(x, axis=dim))


def test_max_nan_and_inf_and_non_contiguous():
    x = np.array([[1, np.nan, 3, np.nan], [-np.inf, -np.inf, -np.inf, -np.inf],
                  [2, 7, 7, np.inf], [0, 0, 0, 0]], np.float32)
    for dim in (0, 1):
        values, indices = cpu.max(x, dim)
        want_values, want_indices = ref.max(x, dim)
        np.testing.assert_array_equal(values, want_values)
        np.testing.assert_array_equal(indices, want_indices)
    values, indices = cpu.max(x, 1)
    assert np.isnan(values[0]) and indices[0] == 1  # the first NaN wins
    assert values[1] == -np.inf and indices[1] == 0
    assert values[2] == np.inf and indices[2] == 3
    y = data((30, 40))
    for view in (y.T, y[::2, ::-3]):
        for dim in (0, 1):
            np.testing.assert_array_equal(cpu.max(view, dim)[1], ref.max(view, dim)[1])


def test_errors():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(IndexError, match=r"sum: dim must be in \[-2, 2\), got 2"):
        cpu.sum(x, (2,))
    with pytest.raises(ValueError, match="sum: dims must not repeat"):
        cpu.sum(x, (1, -1))
    with pytest.raises(IndexError, match=r"max: dim must be in \[-2, 2\), got -3"):
        cpu.max(x, -3)
    with pytest.raises(ValueError, match="max: dim 1 has size 0"):
        cpu.max(np.ones((2, 0), np.float32), 1)
    with pytest.raises(TypeError, match="sum: x must be float32, got float64"):
        cpu.sum(x.astype(np.float64))
    with pytest.raises(TypeError, match="max: x must be float32, got int64"):
        cpu.max(x.astype(np.int64), 0)


def test_zero_dim_input_accepts_axis_0():
    x = np.array(2.5, np.float32)
    assert cpu.sum(x, (0,)).shape == () and cpu.sum(x, (0,)) == 2.5
    values, indices = cpu.max(x, -1)
    assert values.shape == () and values == 2.5 and indices == 0


def test_dims_may_be_numpy_integers_and_lists():
    x = data((2, 3, 4))
    np.testing.assert_array_equal(cpu.sum(x, np.int64(1)), cpu.sum(x, (1,)))
    np.testing.assert_array_equal(cpu.sum(x, [np.int32(0), 2]), cpu.sum(x, (0, 2)))
    np.testing.assert_array_equal(cpu.max(x, np.int64(-1))[1], ref.max(x, -1)[1])
    for bad in (1.0, (1.5,), "0", (True,)):
        with pytest.raises(TypeError, match="sum: dims must be None, an int or a tuple of ints"):
            cpu.sum(x, bad)


def test_max_orders_every_kind_of_float():
    # Subnormals, signed zeros (a tie: the first wins), huge values and infinities,
    # shuffled into rows and columns; the compiled kernel compares integer keys.
    special = np.array([-np.inf, -3e38, -1.0, -1e-38, -1e-45, -0.0, 0.0, 1e-45, 1e-38, 1.0,
                        3e38, np.inf], np.float32)
    rng = np.random.default_rng(12)
    x = rng.choice(special, size=(50, 37))
    for dim in (0, 1):
        values, indices = cpu.max(x, dim)
        want_values, want_indices = ref.max(x, dim)
        np.testing.assert_array_equal(indices, want_indices)
        np.testing.assert_array_equal(values, want_values)
    zeros = np.array([[-0.0, 0.0], [0.0, -0.0]], np.float32)
    np.testing.assert_array_equal(cpu.max(zeros, 1)[1], [0, 0])
    np.testing.assert_array_equal(cpu.max(zeros, 0)[1], [0, 0])
