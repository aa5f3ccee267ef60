"""smooth_activation (gelu exact and tanh, elu, silu, softplus): compiled kernels against the
NumPy reference on every thread count and ISA setting, bit-identical across thread counts,
and the reference's gradients against float64 finite differences.

Tolerance: both evaluate the same float32 formulas with C-library transcendentals (the
reference's erf is the float64 one rounded), so they agree to a few ulps: rtol 1e-5,
atol 1e-6; except the gradients' 1 + tanh / 1 + erf, which cancel for x < -3 and leave
float32 results good to about 1e-5 absolute there: atol 2e-5 for gradients.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import finite_difference

cpu = get("cpu")
ref = get("numpy")

CASES = [("gelu", ("none",)), ("gelu", ("tanh",)), ("elu", (1.0,)), ("elu", (0.3,)),
         ("silu", ()), ("softplus", (1.0, 20.0)), ("softplus", (2.5, 3.0)),
         ("softplus", (-1.5, 4.0))]
SHAPES = [(), (1,), (7,), (33,), (5, 17), (3, 4, 5, 6), (100_003,), (0,)]


def draw(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 4).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, arguments", CASES)
def test_matches_reference(name, arguments, shape, setting):
    x, grad = draw(shape), draw(shape, 1)
    forward, backward = name + "_forward", name + "_backward"
    got = getattr(cpu, forward)(x, *arguments)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, getattr(ref, forward)(x, *arguments), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(getattr(cpu, backward)(grad, x, *arguments),
                               getattr(ref, backward)(grad, x, *arguments), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("name, arguments", CASES)
def test_special_values(name, arguments):
    x = np.array([0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 1e30, -1e30, np.inf, -np.inf],
                 np.float32)
    with np.errstate(all="ignore"):
        want = getattr(ref, name + "_forward")(x, *arguments)
    np.testing.assert_allclose(getattr(cpu, name + "_forward")(x, *arguments), want,
                               rtol=1e-5, atol=1e-6)
    assert np.isnan(getattr(cpu, name + "_forward")(np.array([np.nan], np.float32),
                                                    *arguments)).all()


def test_same_bits_for_any_thread_count():
    x = draw((300_001,), 2)
    saved = _C.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            _C.set_num_threads(threads)
            results.append([getattr(cpu, name + "_backward")(x, x, *arguments)
                            for name, arguments in CASES])
    finally:
        _C.set_num_threads(saved)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_binding_checks():
    x = draw((4, 5))
    with pytest.raises(TypeError, match="gelu_forward: x must be float32"):
        _C.gelu_forward(x.astype(np.float64), "none")
    with pytest.raises(ValueError, match="gelu_forward: approximate must be 'none' or 'tanh'"):
        _C.gelu_forward(x, "fast")
    with pytest.raises(ValueError, match=r"silu_backward: grad_output must have shape \(4, 5\)"):
        _C.silu_backward(x.T.copy(), x)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.elu_forward(x.T, 1.0)


@pytest.mark.parametrize("name, arguments", CASES)
def test_reference_gradients(name, arguments):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ELU's kink
    projection = rng.standard_normal(x.shape)

    def loss():
        return float((getattr(ref, name + "_forward")(x, *arguments) * projection).sum())

    got = getattr(ref, name + "_backward")(projection, x, *arguments)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, finite_difference(loss, x), rtol=1e-6, atol=1e-7)
