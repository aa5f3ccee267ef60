"""Compiled add/sub/mul/div against the NumPy reference.

Tolerance: none. Each output element is one IEEE float32 operation on the same two
inputs in both backends, so results must be bit-identical (NaNs in the same places).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")
OPS = ("add", "sub", "mul", "div")


def operands(shape_a, shape_b, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape_a).astype(np.float32)
    # Keep divisors away from zero; zero division is tested on its own below.
    b = (rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1, 1], shape_b)).astype(np.float32)
    return a, b


def check(op, a, b):
    got = getattr(cpu, op)(a, b)
    want = getattr(ref, op)(a, b)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    assert got.shape == np.broadcast_shapes(np.shape(a), np.shape(b))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape_a,shape_b", [
    ((1,), (1,)), ((7,), (7,)), ((8,), (8,)), ((9,), (9,)), ((15,), (15,)), ((16,), (16,)),
    ((17,), (17,)), ((31,), (31,)), ((33,), (33,)), ((1013,), (1013,)),
    ((64, 128), (128,)),            # bias add
    ((64, 128), (64, 128)),
    ((64, 128), ()), ((), (64, 128)), ((), ()),   # scalar
    ((1, 10), (64, 10)), ((64, 1), (64, 10)),   # row / column broadcast
    ((5, 1, 7), (1, 3, 1)), ((2, 3, 1, 5), (4, 1)), ((1003, 1), (1, 1000)),
    ((1000, 1003), (1003,)), ((1000, 1003), (1000, 1)), ((1000, 1003), (1000, 1003)),
    ((0, 3), (3,)), ((2, 0), (1, 1)),
])
def test_matches_reference(op, shape_a, shape_b, setting):
    a, b = operands(shape_a, shape_b)
    check(op, a, b)


@settings(max_examples=60, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=5, max_side=6),
       op=st.sampled_from(OPS), seed=st.integers(0, 2**16))
def test_broadcasting_property(shapes, op, seed):
    a, b = operands(shapes.input_shapes[0], shapes.input_shapes[1], seed)
    check(op, a, b)


@pytest.mark.parametrize("op", OPS)
def test_non_contiguous_inputs(op, setting):
    a, b = operands((40, 33), (33, 40))
    check(op, a, b.T)                      # transposed
    check(op, a[:, 1::2], b.T[:, 1::2])    # strided columns
    check(op, a[::-1], b.T[::-3][:14][:1])  # negative strides, broadcast row
    big_a, big_b = operands((1003, 1000), (1000, 1003))
    check(op, big_a, big_b.T)


@pytest.mark.parametrize("op", OPS)
def test_special_values(op):
    values = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45],
                      np.float32)
    a = np.repeat(values, len(values))
    b = np.tile(values, len(values))
    with np.errstate(all="ignore"):
        check(op, a, b)
        check(op, a.reshape(10, 10), values)


def test_errors():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(3,\)"):
        cpu.add(a, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="mul: b must be float32, got float64"):
        cpu.mul(a, np.ones(4))
    with pytest.raises(TypeError, match="div: a must be float32, got int64"):
        cpu.div(np.ones(4, np.int64), a)
