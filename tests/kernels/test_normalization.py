"""normalization (batch norm, layer norm): compiled kernels against the NumPy reference,
bit-identical results across thread counts, the reference's gradients against float64
finite differences, and the bindings' memory-safety checks.

Tolerance: both sum in float lanes / float64 but in different orders, so results agree to
a few float32 ulps: rtol 2e-5, atol 2e-5 (gradients of sums over up to 10^5 values:
atol 1e-3 relative to the sum's magnitude). Finite differences: central, step 1e-6,
float64, rtol/atol 1e-6.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import finite_difference

cpu = get("cpu")
ref = get("numpy")

BATCH_SHAPES = [(2, 1), (1, 3, 2), (7, 5), (64, 120), (3, 4, 5, 6), (2, 6, 24, 24),
                (5, 3, 17), (1, 16, 8, 8), (33, 7, 3, 3), (16, 6, 31, 29)]
LAYER_CASES = [((4, 7), (7,)), ((1, 1), (1,)), ((3, 5, 17), (17,)), ((2, 3, 4, 5), (4, 5)),
               ((65, 300), (300,)), ((2, 33), (33,)), ((3, 2, 16), (2, 16))]


def draw(shape, seed=0, scale=3.0, shift=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(np.float32)


def close(got, want, rtol=2e-5, atol=2e-5):
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_norm_matches_reference(shape, setting):
    x = draw(shape)
    channels = shape[1]
    mean, var = cpu.batch_norm_statistics(x)
    want_mean, want_var = ref.batch_norm_statistics(x)
    close(mean, want_mean)
    close(var, want_var, rtol=1e-4)
    weight, bias = draw(channels, 1), draw(channels, 2)
    for w, b in ((weight, bias), (None, None)):
        out, invstd = cpu.batch_norm_forward(x, want_mean, want_var, w, b, 1e-5)
        want_out, want_invstd = ref.batch_norm_forward(x, want_mean, want_var, w, b, 1e-5)
        close(out, want_out, atol=1e-4)
        close(invstd, want_invstd)
        grad = draw(shape, 3, 1.0, 0.0)
        for batch_statistics in (True, False):
            got = cpu.batch_norm_backward(grad, x, want_mean, want_invstd, w, batch_statistics)
            want = ref.batch_norm_backward(grad, x, want_mean, want_invstd, w, batch_statistics)
            close(got[0], want[0], rtol=1e-4, atol=1e-4)
            scale = np.sqrt(x.size / channels)
            close(got[1], want[1], rtol=1e-4, atol=1e-4 * scale)
            close(got[2], want[2], rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("shape, normalized", LAYER_CASES)
def test_layer_norm_matches_reference(shape, normalized, setting):
    x = draw(shape)
    weight, bias = draw(normalized, 1), draw(normalized, 2)
    grad = draw(shape, 3, 1.0, 0.0)
    for w, b in ((weight, bias), (None, None), (weight, None)):
        got = cpu.layer_norm_forward(x, normalized, w, b, 1e-5)
        want = ref.layer_norm_forward(x, normalized, w, b, 1e-5)
        for g, e in zip(got, want):
            close(g, e, atol=1e-4)
        got = cpu.layer_norm_backward(grad, x, want[1], want[2], w, normalized)
        expected = ref.layer_norm_backward(grad, x, want[1], want[2], w, normalized)
        for g, e in zip(got, expected):
            close(g, e, rtol=1e-4, atol=1e-4 * np.sqrt(max(1, x.size)))


def test_same_bits_for_any_thread_count():
    x = draw((64, 16, 12, 12), 4)
    grad = draw(x.shape, 5, 1.0, 0.0)
    rows = draw((300, 129), 6)
    saved = _C.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            _C.set_num_threads(threads)
            mean, var = cpu.batch_norm_statistics(x)
            out, invstd = cpu.batch_norm_forward(x, mean, var, None, None, 1e-5)
            back = cpu.batch_norm_backward(grad, x, mean, invstd, None, True)
            layer = cpu.layer_norm_forward(rows, (129,), None, None, 1e-5)
            layer_back = cpu.layer_norm_backward(rows, rows, layer[1], layer[2], None, (129,))
            results.append([mean, var, out, *back, *layer, *layer_back])
    finally:
        _C.set_num_threads(saved)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_noncontiguous_inputs_are_copied():
    x = draw((6, 8, 5, 4))[:, ::2]
    assert not x.flags.c_contiguous
    for got, want in zip(cpu.batch_norm_statistics(x), ref.batch_norm_statistics(x)):
        close(got, want, rtol=1e-4)
    rows = draw((9, 10)).T
    for got, want in zip(cpu.layer_norm_forward(rows, (9,), None, None, 1e-5),
                         ref.layer_norm_forward(rows, (9,), None, None, 1e-5)):
        close(got, want, atol=1e-4)


def test_binding_checks():
    x = draw((4, 3, 2))
    with pytest.raises(TypeError, match="batch_norm_statistics: x must be float32"):
        _C.batch_norm_statistics(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"batch_norm_statistics: x must be \(N, C, \*\)"):
        _C.batch_norm_statistics(draw((5,)))
    with pytest.raises(ValueError, match=r"batch_norm_forward: mean must have shape \(3,\)"):
        _C.batch_norm_forward(x, draw(4), draw(3), None, None, 1e-5)
    with pytest.raises(ValueError, match=r"batch_norm_forward: weight must have shape \(3,\)"):
        _C.batch_norm_forward(x, draw(3), draw(3), draw(2), None, 1e-5)
    with pytest.raises(ValueError, match="batch_norm_backward: grad_output must have shape"):
        _C.batch_norm_backward(draw((4, 3)), x, draw(3), draw(3), None, True)
    with pytest.raises(ValueError, match="layer_norm_forward: x's trailing dims must be"):
        _C.layer_norm_forward(x, (3,), None, None, 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_forward: bias must have shape \(2,\)"):
        _C.layer_norm_forward(x, (2,), None, draw(3), 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_backward: mean must have shape \(12,\)"):
        _C.layer_norm_backward(x, x, draw(4), draw(12), None, (2,))


def test_empty_batch_does_not_crash():
    x = np.zeros((0, 3, 4), np.float32)
    mean, var = cpu.batch_norm_statistics(x)
    assert mean.shape == (3,) and np.isnan(mean).all()
    out, _ = cpu.batch_norm_forward(x, np.zeros(3, np.float32), np.ones(3, np.float32), None,
                                    None, 1e-5)
    assert out.shape == x.shape


# --- NumPy reference gradients ----------------------------------------------------------------

@pytest.mark.parametrize("batch_statistics", [True, False])
def test_reference_batch_norm_gradients(batch_statistics):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 4))
    weight, bias = rng.standard_normal(2), rng.standard_normal(2)
    fixed_mean, fixed_var = rng.standard_normal(2), rng.random(2) + 0.5
    projection = rng.standard_normal(x.shape)

    def loss():
        mean, var = ref.batch_norm_statistics(x) if batch_statistics else (fixed_mean, fixed_var)
        out, _ = ref.batch_norm_forward(x, mean, var, weight, bias, 1e-5)
        return float((out * projection).sum())

    mean, var = ref.batch_norm_statistics(x) if batch_statistics else (fixed_mean, fixed_var)
    _, invstd = ref.batch_norm_forward(x, mean, var, weight, bias, 1e-5)
    assert invstd.dtype == np.float64
    grad_x, grad_weight, grad_bias = ref.batch_norm_backward(projection, x, mean, invstd, weight,
                                                             batch_statistics)
    np.testing.assert_allclose(grad_x, finite_difference(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad_weight, finite_difference(loss, weight), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(grad_bias, finite_difference(loss, bias), rtol=1e-6, atol=1e-6)


def test_reference_layer_norm_gradients():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 5))
    weight, bias = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    projection = rng.standard_normal(x.shape)

    def loss():
        return float((ref.layer_norm_forward(x, (2, 5), weight, bias, 1e-5)[0] * projection).sum())

    _, mean, invstd = ref.layer_norm_forward(x, (2, 5), weight, bias, 1e-5)
    grad_x, grad_weight, grad_bias = ref.layer_norm_backward(projection, x, mean, invstd, weight,
                                                             (2, 5))
    np.testing.assert_allclose(grad_x, finite_difference(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad_weight, finite_difference(loss, weight), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(grad_bias, finite_difference(loss, bias), rtol=1e-6, atol=1e-6)
