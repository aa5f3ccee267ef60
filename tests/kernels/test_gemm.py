"""gemm family: compiled kernels (cunn._C via the cpu adapter) against the NumPy reference.

Tolerance: the float32 GEMM is compared with the reference evaluated in float64 on the
same inputs, elementwise:
    |cunn - reference| <= 1e-5 * sqrt(K) * (|alpha| * |op(a)| @ |op(b)| + |beta| * |C|) + 1e-30
i.e. the usual forward-error bound of a K-term dot product, with a random-walk sqrt(K)
growth. A wrong element is off by O(1) of that scale, so the check cannot pass by accident.
"""
import importlib

import numpy as np
import pytest

import cunn
from cunn import _C
from python_process import run_python
from kernels.numeric import finite_difference

try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # only the property test needs it
    given = settings = st = None

cpu = importlib.import_module("cunn._backends.cpu.gemm")
ref = importlib.import_module("cunn._backends.numpy_ref.gemm")

ISAS = ["avx512", "avx2", "generic"]


def random_operands(rng, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    return a, b


def check_against_reference(result, a, b, trans_a, trans_b, alpha=1.0, beta=0.0, c=None):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    c64 = None if c is None else c.astype(np.float64)
    expected = ref.gemm(a64, b64, trans_a, trans_b, alpha, beta,
                        None if c64 is None else c64.copy())
    op_a = np.abs(a64.T if trans_a else a64)
    op_b = np.abs(b64.T if trans_b else b64)
    k = op_a.shape[1]
    scale = abs(alpha) * (op_a @ op_b)
    if c64 is not None and beta != 0.0:
        scale = scale + abs(beta) * np.abs(c64)
    tolerance = 1e-5 * np.sqrt(max(k, 1)) * scale + 1e-30
    assert result.dtype == np.float32
    assert result.shape == expected.shape
    error = np.abs(result.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(error - tolerance), error.shape) if error.size else None
    assert np.all(error <= tolerance), (
        f"max excess at {worst}: got {result[worst]}, expected {expected[worst]}")


# Sizes: 1, primes, the micro-tile sizes +-1 (reference 8x8, AVX2 6x16, AVX-512 8x32,
# 16x16 and the 4x4 dot-product tiles for narrow A.B^T), and just around the cache blocks
# (KC = 256 / 512, MC = 120 / 128, NC = 1024 / 512 / 256 for the reference, AVX2, AVX-512).
SHAPES = [
    (1, 1, 1), (1, 7, 3), (5, 1, 9), (2, 3, 5), (7, 11, 13), (17, 19, 23), (9, 8, 5), (8, 9, 7),
    (3, 15, 4), (5, 16, 6), (7, 17, 8), (8, 31, 9), (9, 32, 10), (15, 33, 11),
    (16, 10, 128), (17, 16, 31), (64, 10, 128), (5, 3, 17), (31, 47, 255), (33, 29, 256),
    (13, 37, 257), (9, 21, 511), (5, 12, 512), (7, 19, 513), (119, 9, 20), (121, 9, 20),
    (127, 40, 30), (129, 41, 513), (11, 255, 12), (6, 256, 5), (3, 257, 9), (11, 511, 12),
    (6, 513, 17), (2, 1025, 3),
    # Either side of the unpacked paths' limits (gemm.cpp): A.B^T as dot products for
    # m <= 4 and for k >= 256 with n * k <= 2^17; A read in place for k <= 128, B for
    # k <= 256 and m <= 256.
    (4, 100, 37), (5, 100, 37), (6, 512, 256), (6, 513, 256), (7, 33, 255), (9, 40, 128),
    (9, 40, 129), (256, 33, 256), (257, 35, 257), (24, 64, 64),
]


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_matches_reference(isa, shape, trans_a, trans_b):
    rng = np.random.default_rng(hash((shape, trans_a, trans_b)) % 2**32)
    a, b = random_operands(rng, *shape, trans_a, trans_b)
    check_against_reference(cpu.gemm(a, b, trans_a, trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (False, True)])
def test_gemm_large(isa, threads, trans_a, trans_b):
    rng = np.random.default_rng(7)
    a, b = random_operands(rng, 513, 1031, 257, trans_a, trans_b)
    check_against_reference(cpu.gemm(a, b, trans_a, trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("shape", [(64, 128, 784), (64, 784, 128), (128, 784, 64),
                                   (1024, 10, 128), (1, 128, 784), (300, 700, 600)])
def test_gemm_threads_agree_bitwise(isa, shape):
    # Each C element is accumulated in one fixed order, however the work is split.
    rng = np.random.default_rng(3)
    a, b = random_operands(rng, *shape, False, True)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        single = cpu.gemm(a, b, False, True)
        _C.set_num_threads(2)
        double = cpu.gemm(a, b, False, True)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(single, double)
    check_against_reference(double, a, b, False, True)


# K > 128 (a transposed A is packed, not read in place) and, for A.B^T, K < 256 or
# N * K > 2^17 (never the dot products, which sum in another order).
@pytest.mark.parametrize("m,n,k", [(64, 784, 128), (64, 200, 784), (8, 32, 129),
                                   (17, 65, 200), (129, 300, 513), (1024, 180, 784),
                                   (200, 96, 1400)])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_untransposed_a_equals_transposed_a_bitwise(isa, threads, m, n, k, trans_b):
    """An untransposed A may be read in place row by row (tuning.cpp), a transposed one is
    packed into micro-panels: the same products summed in the same order, so the two
    layouts of one matrix give the same bits, the full row panels and the edge rows
    (packed either way) alike, with alpha and beta too."""
    rng = np.random.default_rng(m * 7 + n * 3 + k)
    a, b = random_operands(rng, m, n, k, False, trans_b)
    c = rng.standard_normal((m, n)).astype(np.float32)
    rows = cpu.gemm(a, b, False, trans_b, 0.75, 0.5, c.copy())
    panels = cpu.gemm(np.ascontiguousarray(a.T), b, True, trans_b, 0.75, 0.5, c.copy())
    np.testing.assert_array_equal(rows, panels)
    check_against_reference(rows, a, b, False, trans_b, 0.75, 0.5, c)


@pytest.mark.parametrize("n,k", [(1, 16), (10, 128), (16, 37), (40, 600), (130, 784)])
def test_gemm_few_rows_match_the_rows_of_a_batch(isa, threads, n, k):
    # A.B^T with 1 to 3 rows (a GEMV at batch 1) takes its own tile shapes on the SIMD
    # dot-product path; each element must still be summed exactly as in a batch of rows
    # on that path, with alpha, beta and the column edge handled the same. The batch
    # takes it too: products at most 4 rows or 16 columns always do (tuning.cpp), so 7
    # rows (a 4-row tile, then the rest) for n <= 16, else 4.
    rng = np.random.default_rng(n * 1000 + k)
    batch_rows = 7 if n <= 16 else 4
    a, b = random_operands(rng, batch_rows, n, k, False, True)
    c = rng.standard_normal((batch_rows, n)).astype(np.float32)
    batch = cpu.gemm(a, b, False, True, 0.5, -2.0, c.copy())
    check_against_reference(batch, a, b, False, True, 0.5, -2.0, c)
    for first, last in [(0, 1), (1, 3), (1, 4), (3, 4), (4, 5), (4, 6), (4, 7)]:
        if last <= batch_rows:
            rows = cpu.gemm(a[first:last], b, False, True, 0.5, -2.0, c[first:last].copy())
            np.testing.assert_array_equal(rows, batch[first:last])


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.0), (0.0, 3.0),
                                        (2.0, 0.25)])
@pytest.mark.parametrize("shape", [(9, 33, 300), (64, 10, 128), (1, 1, 1)])
def test_gemm_alpha_beta_out(isa, threads, shape, alpha, beta):
    rng = np.random.default_rng(11)
    a, b = random_operands(rng, *shape, True, False)
    c = rng.standard_normal(shape[:2]).astype(np.float32)
    out = c.copy()
    result = cpu.gemm(a, b, True, False, alpha, beta, out)
    assert result is out
    check_against_reference(out, a, b, True, False, alpha, beta, c)


def test_gemm_beta_ignored_without_out():
    rng = np.random.default_rng(12)
    a, b = random_operands(rng, 5, 6, 7, False, False)
    check_against_reference(cpu.gemm(a, b, beta=5.0), a, b, False, False)


@pytest.mark.parametrize("shape", [(8, 32, 40), (10, 7, 300), (64, 10, 128)])
def test_gemm_beta_zero_does_not_read_out(isa, shape):
    rng = np.random.default_rng(13)
    a, b = random_operands(rng, *shape, False, False)
    out = np.full(shape[:2], np.nan, dtype=np.float32)
    cpu.gemm(a, b, alpha=2.0, beta=0.0, out=out)
    assert not np.isnan(out).any()
    check_against_reference(out, a, b, False, False, 2.0)


def test_gemm_nonzero_beta_propagates_nan_like_numpy():
    rng = np.random.default_rng(14)
    a, b = random_operands(rng, 4, 5, 6, False, False)
    out = np.zeros((4, 5), dtype=np.float32)
    out[1, 2] = np.nan
    cpu.gemm(a, b, beta=1.0, out=out)
    assert np.isnan(out[1, 2]) and np.isnan(out).sum() == 1


@pytest.mark.parametrize("m,n", [(3, 4), (0, 4), (3, 0)])
def test_gemm_empty_inner_dimension(m, n):
    a = np.zeros((m, 0), dtype=np.float32)
    b = np.zeros((0, n), dtype=np.float32)
    result = cpu.gemm(a, b)
    np.testing.assert_array_equal(result, np.zeros((m, n), dtype=np.float32))
    out = np.full((m, n), 2.0, dtype=np.float32)
    cpu.gemm(a, b, beta=3.0, out=out)
    np.testing.assert_array_equal(out, np.full((m, n), 6.0, dtype=np.float32))
    out = np.full((m, n), np.nan, dtype=np.float32)
    cpu.gemm(a, b, beta=0.0, out=out)
    np.testing.assert_array_equal(out, np.zeros((m, n), dtype=np.float32))


@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (0, 0, 0)])
def test_gemm_empty_output(m, n, k):
    a = np.ones((m, k), dtype=np.float32)
    b = np.ones((k, n), dtype=np.float32)
    result = cpu.gemm(a, b)
    assert result.shape == (m, n) and result.dtype == np.float32


def test_gemm_noncontiguous_inputs(isa):
    rng = np.random.default_rng(15)
    big_a = rng.standard_normal((40, 90)).astype(np.float32)
    big_b = rng.standard_normal((70, 60)).astype(np.float32)
    a = big_a[::2, 1::3]        # (20, 30), neither C- nor F-contiguous
    b = big_b[5:35, ::2]        # (30, 30)
    assert not a.flags.c_contiguous and not a.flags.f_contiguous
    check_against_reference(cpu.gemm(a, b), a, b, False, False)
    check_against_reference(cpu.gemm(a.T, b, trans_a=True), a.T, b, True, False)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_transposed_views(isa, trans_a, trans_b):
    rng = np.random.default_rng(16)
    a_base, b_base = random_operands(rng, 37, 45, 53, not trans_a, not trans_b)
    a, b = a_base.T, b_base.T   # F-contiguous views: op(a) has shape (37, 53) either way
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    check_against_reference(cpu.gemm(a, b, trans_a, trans_b), a, b, trans_a, trans_b)


def test_transposed_view_is_not_copied():
    # The binding takes an F-contiguous operand as-is; anything else it refuses (the
    # adapter then copies), so a transposed view reaching the kernel was not copied.
    rng = np.random.default_rng(26)
    base = rng.standard_normal((6, 4)).astype(np.float32)
    other = rng.standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(_C.gemm(base.T, other, False, False, 1.0, 0.0, None),
                               base.T @ other, rtol=1e-5, atol=1e-6)
    with pytest.raises(_C.NonContiguousError, match="gemm: a must be C- or F-contiguous"):
        _C.gemm(base[::2], other[:3], False, False, 1.0, 0.0, None)
    assert issubclass(_C.NonContiguousError, ValueError)


def test_gemm_mnist_shapes(threads):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    w1 = rng.standard_normal((128, 784)).astype(np.float32)
    grad_y = rng.standard_normal((64, 128)).astype(np.float32)
    check_against_reference(cpu.gemm(x, w1, trans_b=True), x, w1, False, True)
    check_against_reference(cpu.gemm(grad_y, w1), grad_y, w1, False, False)
    check_against_reference(cpu.gemm(grad_y, x, trans_a=True), grad_y, x, True, False)
    check_against_reference(cpu.gemm(grad_y.T, x), grad_y.T, x, False, False)


def test_gemm_out_refusals():
    a = np.ones((3, 4), dtype=np.float32)
    b = np.ones((4, 5), dtype=np.float32)
    with pytest.raises(TypeError, match="gemm: out must be float32"):
        cpu.gemm(a, b, out=np.zeros((3, 5), dtype=np.float64))
    with pytest.raises(ValueError, match="gemm: out must be C-contiguous"):
        cpu.gemm(a, b, out=np.zeros((5, 3), dtype=np.float32).T)
    readonly = np.zeros((3, 5), dtype=np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="gemm: out must be writable"):
        cpu.gemm(a, b, out=readonly)
    with pytest.raises(ValueError, match=r"gemm: out must have shape \(3, 5\), got \(5, 3\)"):
        cpu.gemm(a, b, out=np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="gemm: out must be a numpy.ndarray"):
        cpu.gemm(a, b, out=[[0.0] * 5] * 3)
    square = np.ones((4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="gemm: out must not share memory"):
        cpu.gemm(square, square, out=square)


def test_gemm_input_errors():
    a = np.ones((64, 784), dtype=np.float32)
    with pytest.raises(ValueError, match=r"gemm: inner dimensions differ: op\(a\) is \(64, 784\), "
                                         r"op\(b\) is \(128, 10\)"):
        cpu.gemm(a, np.ones((128, 10), dtype=np.float32))
    with pytest.raises(ValueError, match=r"inner dimensions differ: op\(a\) is \(784, 64\)"):
        cpu.gemm(a, np.ones((128, 10), dtype=np.float32), trans_a=True)
    with pytest.raises(TypeError, match="gemm: a must be float32, got float64"):
        cpu.gemm(a.astype(np.float64), np.ones((784, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="gemm: b must be float32, got int64"):
        cpu.gemm(a, np.ones((784, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="gemm: a must be 2-D"):
        cpu.gemm(np.ones(5, dtype=np.float32), np.ones((5, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="gemm: b must be 2-D"):
        cpu.gemm(a, np.ones((784, 2, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="inner dimensions differ"):
        ref.gemm(a, np.ones((128, 10), dtype=np.float32))


def _property_test(function):
    if given is None:
        return pytest.mark.skip(reason="hypothesis is not installed")(function)
    return settings(max_examples=60, deadline=None)(given(
        m=st.integers(0, 70), n=st.integers(0, 70), k=st.integers(0, 300),
        trans_a=st.booleans(), trans_b=st.booleans(), beta=st.sampled_from([0.0, 1.0, -0.5]),
        isa_name=st.sampled_from(ISAS), thread_count=st.sampled_from([1, 2]),
        seed=st.integers(0, 2**32 - 1))(function))


@_property_test
def test_gemm_property(m, n, k, trans_a, trans_b, beta, isa_name, thread_count, seed):
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, m, n, k, trans_a, trans_b)
    c = rng.standard_normal((m, n)).astype(np.float32)
    out = c.copy()
    threads_before, isa_before = _C.get_num_threads(), _C.isa()
    _C.set_isa_cap(isa_name)
    _C.set_num_threads(thread_count)
    try:
        cpu.gemm(a, b, trans_a, trans_b, 1.25, beta, out)
    finally:
        _C.set_isa_cap(isa_before)
        _C.set_num_threads(threads_before)
    check_against_reference(out, a, b, trans_a, trans_b, 1.25, beta, c)


# --- NumPy reference semantics -------------------------------------------------------------

def test_reference_keeps_float64_and_matches_formula():
    rng = np.random.default_rng(18)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal((6, 5))
    c = rng.standard_normal((4, 5))
    out = c.copy()
    result = ref.gemm(a, b, True, False, 0.5, 2.0, out)
    assert result is out and result.dtype == np.float64
    np.testing.assert_allclose(result, 0.5 * a.T @ b + 2.0 * c, rtol=1e-14)
    assert ref.gemm(a.astype(np.float32), b.astype(np.float32), True).dtype == np.float32


def test_reference_linear_gradients_by_finite_differences():
    # The backward of linear (written in cunn/ops) is dx = gy @ W, dW = gy.T @ x,
    # db = bias_grad(gy, -1); check those compositions of the reference kernels in float64.
    rng = np.random.default_rng(19)
    x = rng.standard_normal((3, 5))
    weight = rng.standard_normal((4, 5))
    bias = rng.standard_normal(4)
    grad_y = rng.standard_normal((3, 4))

    def loss():
        return float(np.sum(grad_y * ref.linear_forward(x, weight, bias)))

    np.testing.assert_allclose(ref.gemm(grad_y, weight), finite_difference(loss, x), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(ref.gemm(grad_y, x, trans_a=True),
                               finite_difference(loss, weight), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ref.bias_grad(grad_y, -1), finite_difference(loss, bias),
                               rtol=1e-6, atol=1e-8)


def test_reference_conv_bias_gradient_by_finite_differences():
    rng = np.random.default_rng(20)
    grad_y = rng.standard_normal((2, 3, 4, 5))
    bias = rng.standard_normal(3)

    def loss():
        return float(np.sum(grad_y * bias[None, :, None, None]))

    np.testing.assert_allclose(ref.bias_grad(grad_y, 1), finite_difference(loss, bias),
                               rtol=1e-6, atol=1e-8)


# --- linear_forward -------------------------------------------------------------------------

@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shape", [(64, 784, 128), (64, 128, 10), (1, 784, 128), (1, 1, 1),
                                   (33, 17, 31), (0, 5, 3), (5, 0, 3)])
def test_linear_forward_matches_reference(isa, threads, shape, with_bias):
    batch, in_features, out_features = shape
    rng = np.random.default_rng(21)
    x = rng.standard_normal((batch, in_features)).astype(np.float32)
    weight = rng.standard_normal((out_features, in_features)).astype(np.float32)
    bias = rng.standard_normal(out_features).astype(np.float32) if with_bias else None
    result = cpu.linear_forward(x, weight, bias)
    expected = ref.linear_forward(x.astype(np.float64), weight.astype(np.float64),
                                  None if bias is None else bias.astype(np.float64))
    assert result.dtype == np.float32 and result.shape == (batch, out_features)
    scale = np.abs(x.astype(np.float64)) @ np.abs(weight.astype(np.float64)).T
    if bias is not None:
        scale = scale + np.abs(bias)
    tolerance = 1e-5 * np.sqrt(max(in_features, 1)) * scale + 1e-30
    assert np.all(np.abs(result - expected) <= tolerance)


def test_linear_forward_output_starts_on_a_cache_line():
    """Threads write the output in column ranges (bind_gemm.cpp): it starts on a line."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    weight = rng.standard_normal((128, 784)).astype(np.float32)
    bias = rng.standard_normal(128).astype(np.float32)
    for _ in range(8):  # several allocations: one lucky 16-byte address cannot pass alone
        out = cpu.linear_forward(x, weight, bias)
        assert out.ctypes.data % 64 == 0 and out.flags.c_contiguous and out.flags.writeable
    np.testing.assert_array_equal(out, cpu.linear_forward(x, weight, bias))


def test_linear_forward_noncontiguous_inputs():
    rng = np.random.default_rng(22)
    x = rng.standard_normal((20, 30)).astype(np.float32)[:, ::2]
    weight = rng.standard_normal((15, 7)).astype(np.float32).T    # (7, 15) F-contiguous
    bias = rng.standard_normal(14).astype(np.float32)[::2]
    result = cpu.linear_forward(x, weight, bias)
    np.testing.assert_allclose(result, ref.linear_forward(x, weight, bias), rtol=1e-5, atol=1e-5)


def test_linear_forward_errors():
    x = np.ones((64, 784), dtype=np.float32)
    with pytest.raises(ValueError, match=r"linear_forward: weight must be \(out_features, "
                                         r"in_features\) with in_features = 784"):
        cpu.linear_forward(x, np.ones((784, 10), dtype=np.float32), None)
    with pytest.raises(ValueError, match=r"linear_forward: bias must have shape \(10,\), got "
                                         r"\(11,\)"):
        cpu.linear_forward(x, np.ones((10, 784), dtype=np.float32),
                           np.ones(11, dtype=np.float32))
    with pytest.raises(TypeError, match="linear_forward: x must be float32, got float64"):
        cpu.linear_forward(x.astype(np.float64), np.ones((10, 784), dtype=np.float32), None)
    with pytest.raises(TypeError, match="linear_forward: bias must be float32"):
        cpu.linear_forward(x, np.ones((10, 784), dtype=np.float32), np.ones(10))
    with pytest.raises(ValueError, match="linear_forward: x must be 2-D"):
        cpu.linear_forward(np.ones(784, dtype=np.float32), np.ones((10, 784), dtype=np.float32),
                           None)


# --- linear_backward ------------------------------------------------------------------------

@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False),
                                   (False, False, True), (False, False, False)])
@pytest.mark.parametrize("shape", [(64, 784, 128), (64, 128, 10), (1, 784, 128), (1, 1, 1),
                                   (33, 17, 31), (0, 5, 3), (5, 0, 3), (3, 5, 0)])
def test_linear_backward_matches_reference(isa, threads, shape, needs):
    batch, in_features, out_features = shape
    rng = np.random.default_rng(25)
    grad_output = rng.standard_normal((batch, out_features)).astype(np.float32)
    x = rng.standard_normal((batch, in_features)).astype(np.float32)
    weight = rng.standard_normal((out_features, in_features)).astype(np.float32)
    results = cpu.linear_backward(grad_output, x, weight, *needs)
    expected = ref.linear_backward(grad_output.astype(np.float64), x.astype(np.float64),
                                   weight.astype(np.float64), *needs)
    magnitude = (np.abs(grad_output.astype(np.float64)), np.abs(x.astype(np.float64)),
                 np.abs(weight.astype(np.float64)))
    scales = (magnitude[0] @ magnitude[2], magnitude[0].T @ magnitude[1],
              magnitude[0].sum(axis=0))
    depths = (out_features, batch, batch)
    for result, want, scale, depth, needed in zip(results, expected, scales, depths, needs):
        if not needed:
            assert result is None and want is None
            continue
        assert result.dtype == np.float32 and result.shape == want.shape
        tolerance = 1e-5 * np.sqrt(max(depth, 1)) * scale + 1e-30
        assert np.all(np.abs(result - want) <= tolerance)


def test_linear_backward_agrees_with_gemm_and_bias_grad():
    # The layer's backward in one call is the three products it replaces, bit for bit.
    rng = np.random.default_rng(26)
    grad_output = rng.standard_normal((64, 128)).astype(np.float32)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    weight = rng.standard_normal((128, 784)).astype(np.float32)
    grad_x, grad_weight, grad_bias = cpu.linear_backward(grad_output, x, weight, True, True, True)
    np.testing.assert_array_equal(grad_x, cpu.gemm(grad_output, weight))
    np.testing.assert_array_equal(grad_weight, cpu.gemm(grad_output, x, True, False))
    np.testing.assert_array_equal(grad_bias, cpu.bias_grad(grad_output, 1))


def test_linear_backward_errors():
    grad_output = np.ones((64, 10), dtype=np.float32)
    x = np.ones((64, 784), dtype=np.float32)
    weight = np.ones((10, 784), dtype=np.float32)
    with pytest.raises(ValueError, match=r"linear_backward: weight must be \(out_features, "
                                         r"in_features\) with out_features = 10"):
        cpu.linear_backward(grad_output, x, weight.T.copy(), True, True, True)
    with pytest.raises(ValueError, match=r"linear_backward: x must have shape \(64, 784\), "
                                         r"got \(63, 784\)"):
        cpu.linear_backward(grad_output, x[:63], weight, True, True, True)
    with pytest.raises(TypeError, match="linear_backward: grad_output must be float32, got "
                                        "float64"):
        cpu.linear_backward(grad_output.astype(np.float64), x, weight, True, True, True)
    with pytest.raises(ValueError, match="linear_backward: x must be 2-D"):
        cpu.linear_backward(grad_output, np.ones(784, dtype=np.float32), weight, True, True,
                            True)
    with pytest.raises(ValueError, match=r"linear_backward: weight must be \(out_features"):
        ref.linear_backward(grad_output, x, weight.T, True, True, True)
    with pytest.raises(ValueError, match=r"linear_backward: x must have shape \(64, 784\)"):
        ref.linear_backward(grad_output, x[:63], weight, True, True, True)


# --- bias_grad ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis", [((64, 128), -1), ((64, 128), 1), ((64, 10), 0),
                                        ((1, 10), 1), ((7,), 0), ((4, 3, 5, 5), 1),
                                        ((64, 32, 28, 28), 1), ((2, 3, 4), -2), ((3, 0, 2), 0),
                                        ((0, 6), 1), ((300, 1000), 1)])
def test_bias_grad_matches_reference(threads, shape, axis):
    rng = np.random.default_rng(23)
    grad_output = rng.standard_normal(shape).astype(np.float32)
    result = cpu.bias_grad(grad_output, axis)
    expected = ref.bias_grad(grad_output.astype(np.float64), axis)
    assert result.dtype == np.float32 and result.shape == (shape[axis],)
    # Accumulated in double, so only the final rounding to float32 remains (plus slack).
    tolerance = 1e-6 * np.abs(grad_output.astype(np.float64)).sum(
        axis=tuple(d for d in range(len(shape)) if d != axis % len(shape))) + 1e-30
    assert np.all(np.abs(result - expected) <= tolerance)


@pytest.mark.parametrize("shape,axis", [((64, 32, 28, 28), 1), ((4096, 128), 1),
                                        ((1000, 3, 77), 1)])
def test_bias_grad_same_for_any_thread_count(shape, axis):
    rng = np.random.default_rng(24)
    grad_output = rng.standard_normal(shape).astype(np.float32)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        single = cpu.bias_grad(grad_output, axis)
        _C.set_num_threads(2)
        double = cpu.bias_grad(grad_output, axis)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(single, double)


def test_bias_grad_noncontiguous_input():
    rng = np.random.default_rng(25)
    grad_output = rng.standard_normal((6, 8, 5)).astype(np.float32).transpose(2, 1, 0)
    np.testing.assert_allclose(cpu.bias_grad(grad_output, 1), ref.bias_grad(grad_output, 1),
                               rtol=1e-5, atol=1e-5)


def test_bias_grad_errors():
    grad_output = np.ones((4, 5), dtype=np.float32)
    with pytest.raises(IndexError, match="bias_grad: axis 2 is out of range for a 2-D"):
        cpu.bias_grad(grad_output, 2)
    with pytest.raises(IndexError, match="bias_grad: axis -3 is out of range"):
        cpu.bias_grad(grad_output, -3)
    with pytest.raises(IndexError, match="bias_grad: axis 2 is out of range"):
        ref.bias_grad(grad_output, 2)
    with pytest.raises(TypeError, match="bias_grad: grad_output must be float32, got float64"):
        cpu.bias_grad(grad_output.astype(np.float64), 1)
    with pytest.raises(ValueError, match="bias_grad: grad_output must be at least 1-D"):
        cpu.bias_grad(np.ones((), dtype=np.float32), 0)


def test_backends_provide_the_family():
    registry = importlib.import_module("cunn._backends")
    for backend in ("cpu", "numpy"):
        module = registry.get(backend)
        for name in ("gemm", "linear_forward", "bias_grad"):
            assert callable(getattr(module, name))


def test_environment_forces_generic_isa():
    # CUNN_CPU_ISA=generic must select the portable micro-kernel from the start.
    code = ("import numpy as np; from cunn import _C; a = np.arange(12, dtype=np.float32)"
            ".reshape(3, 4); print(_C.isa(), float(_C.gemm(a, a, False, True, 1.0, 0.0, None)"
            ".sum()))")
    output = run_python(code, CUNN_CPU_ISA="generic").split()
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert output[0] == "generic"
    assert float(output[1]) == float((a @ a.T).sum())


def test_gemm_is_reentrant_across_python_threads(threads):
    # The GIL is released and packing buffers are per thread, so concurrent calls from
    # several Python threads must each get their own correct result.
    import concurrent.futures

    rng = np.random.default_rng(27)
    problems = [random_operands(rng, 70 + 9 * index, 90 + 5 * index, 300, False, index % 2 == 1)
                for index in range(4)]
    expected = [cpu.gemm(a, b, False, index % 2 == 1) for index, (a, b) in enumerate(problems)]

    def run(index):
        a, b = problems[index]
        return all(np.array_equal(cpu.gemm(a, b, False, index % 2 == 1), expected[index])
                   for _ in range(15))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, range(4)))
