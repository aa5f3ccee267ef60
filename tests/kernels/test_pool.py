"""max_pool2d: compiled kernels against the NumPy reference, and the reference's gradient
against float64 finite differences.

Tolerance: none. The forward selects values (no arithmetic), so output values (NaN
included, by bits) and int64 indices must be identical to the reference's; the backward
adds the gradients that land on one input position in output order, as np.add.at does,
so it is identical too. Finite differences: central, step 1e-6, float64, rtol 1e-6,
atol 1e-8 (on inputs whose window maxima are separated by far more than the step).
"""
import numpy as np
import pytest

from cunn._backends import get
from kernels.numeric import finite_difference, with_threads

cpu = get("cpu")
ref = get("numpy")


def assert_same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got.view(np.uint32) if got.dtype == np.float32 else got,
                                  want.view(np.uint32) if want.dtype == np.float32 else want)


def check(x, kernel_size, stride, padding, seed=0):
    out, indices = cpu.max_pool2d_forward(x, kernel_size, stride, padding)
    want_out, want_indices = ref.max_pool2d_forward(x, kernel_size, stride, padding)
    assert_same_bits(out, want_out)
    assert indices.dtype == np.int64
    assert_same_bits(indices, want_indices)
    grad = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32)
    assert_same_bits(cpu.max_pool2d_backward(grad, indices, x.shape),
                     ref.max_pool2d_backward(grad, want_indices, x.shape))
    return out, indices


# (N, C, H, W, kernel, stride, padding)
CASES = [
    (1, 1, 1, 1, (1, 1), (1, 1), (0, 0)),
    (2, 3, 8, 8, (2, 2), (2, 2), (0, 0)),          # MNIST shape, fast path
    (2, 3, 9, 7, (2, 2), (2, 2), (0, 0)),          # odd sizes: the last row / column unused
    (1, 1, 3, 2, (2, 2), (2, 2), (0, 0)),          # one output
    (2, 2, 4, 17, (2, 2), (2, 2), (0, 0)),         # 8 outputs a row: one AVX2 step
    (2, 2, 5, 19, (2, 2), (2, 2), (0, 0)),         # 9: an AVX2 step and a tail
    (2, 2, 6, 33, (2, 2), (2, 2), (0, 0)),         # 16: one AVX-512 step
    (1, 3, 5, 70, (2, 2), (2, 2), (0, 0)),         # 35: two steps and a tail
    (64, 32, 28, 28, (2, 2), (2, 2), (0, 0)),      # MNIST layer 1
    (64, 64, 14, 14, (2, 2), (2, 2), (0, 0)),      # MNIST layer 2
    (2, 3, 8, 8, (2, 2), (2, 2), (1, 1)),          # 2x2 with padding: general path
    (2, 3, 8, 8, (2, 2), (1, 1), (0, 0)),          # overlapping 2x2 windows
    (1, 2, 10, 11, (3, 3), (2, 2), (1, 1)),        # overlapping: gradients collide
    (2, 2, 9, 13, (3, 2), (1, 3), (1, 1)),         # asymmetric kernel, stride
    (1, 3, 7, 7, (7, 7), (1, 1), (0, 0)),          # kernel = input
    (1, 3, 5, 6, (7, 8), (1, 1), (1, 1)),          # kernel = padded input
    (3, 5, 17, 19, (5, 3), (3, 2), (2, 1)),        # primes, padding = half the kernel
    (2, 2, 6, 6, (1, 1), (2, 3), (0, 0)),          # 1x1: a strided gather
    (2, 3, 12, 12, (4, 4), (4, 4), (2, 2)),
    (0, 3, 4, 4, (2, 2), (2, 2), (0, 0)),          # empty batch
    (2, 0, 4, 4, (2, 2), (2, 2), (0, 0)),          # no channels
]


def case_id(case):
    n, c, h, w, k, s, p = case
    return f"{n}x{c}x{h}x{w}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-p{p[0]}{p[1]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_max_pool2d_matches_reference(case, threads, isa):
    *shape, kernel, stride, padding = case
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    check(x, kernel, stride, padding)


@pytest.mark.parametrize("case", [case for case in CASES
                                  if 0 < case[0] * case[1] <= 8 and case[2] * case[3] > 1],
                         ids=case_id)
def test_max_pool2d_ties_and_specials(case, threads, isa):
    # Few distinct values (many ties: the first in window order wins), NaNs (the first
    # NaN wins, whatever follows), infinities, signed zeros.
    *shape, kernel, stride, padding = case
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.05] = np.inf
    x[rng.random(shape) < 0.05] = -np.inf
    x[rng.random(shape) < 0.1] = -0.0
    payload = np.array([0x7FC00001, 0xFFC00002], np.uint32).view(np.float32)  # NaNs with payloads
    x.reshape(-1)[:2] = payload
    check(x, kernel, stride, padding)


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (1, 1)),
                                                   ((3, 3), (2, 2), (1, 1)),
                                                   ((2, 2), (2, 2), (0, 0)),
                                                   ((4, 3), (1, 2), (2, 1))])
def test_max_pool2d_windows_of_minus_infinity(kernel, stride, padding, threads, isa):
    # A window holding only -inf reports its first position inside the input, never a
    # padding position (which would be out of the plane, or another row's element).
    x = np.full((2, 2, 5, 6), -np.inf, np.float32)
    out, indices = check(x, kernel, stride, padding)
    assert np.all(out == -np.inf)
    assert indices.min() >= 0 and indices.max() < 30
    pad_h, pad_w = padding
    rows = np.maximum(np.arange(out.shape[2]) * stride[0] - pad_h, 0)
    cols = np.maximum(np.arange(out.shape[3]) * stride[1] - pad_w, 0)
    np.testing.assert_array_equal(indices[0, 0], rows[:, None] * 6 + cols[None, :])


def test_max_pool2d_nan_wins_and_first_nan_is_reported(isa):
    x = np.array([[[[1.0, np.nan, 3.0, 0.5], [np.nan, 5.0, 2.0, 1.0]]]], np.float32)
    out, indices = cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 0, 1] == 3.0
    assert indices[0, 0, 0, 0] == 1 and indices[0, 0, 0, 1] == 2
    out, indices = cpu.max_pool2d_forward(x, (2, 4), (1, 1), (0, 0))
    assert np.isnan(out[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 1


@pytest.mark.parametrize("case", [(64, 32, 28, 28, (2, 2), (2, 2), (0, 0)),
                                  (8, 16, 30, 31, (3, 3), (2, 2), (1, 1)),
                                  (3, 5, 17, 19, (5, 3), (3, 2), (2, 1))], ids=case_id)
def test_max_pool2d_same_for_any_thread_count(case):
    *shape, kernel, stride, padding = case
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    results = []
    for count in (1, 2):
        def run():
            out, indices = cpu.max_pool2d_forward(x, kernel, stride, padding)
            grad = np.ones_like(out)
            return out, indices, cpu.max_pool2d_backward(grad, indices, x.shape)
        results.append(with_threads(count, run))
    for single, double in zip(*results):
        np.testing.assert_array_equal(single, double)


def test_max_pool2d_noncontiguous_inputs(threads, isa):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 10, 12, 5)).astype(np.float32).transpose(0, 3, 1, 2)
    assert not x.flags.c_contiguous
    out, indices = check(x, (3, 3), (2, 2), (1, 1))
    grad = rng.standard_normal((3, 5) + out.shape[2:] + (2,)).astype(np.float32)[..., 0]
    wide_indices = np.stack([indices, indices], axis=-1)[..., 1]
    assert not grad.flags.c_contiguous and not wide_indices.flags.c_contiguous
    assert_same_bits(cpu.max_pool2d_backward(grad, wide_indices, x.shape),
                     ref.max_pool2d_backward(grad, indices, x.shape))


def test_max_pool2d_forward_errors():
    x = np.ones((2, 3, 8, 8), np.float32)
    f = cpu.max_pool2d_forward
    with pytest.raises(TypeError, match="max_pool2d_forward: x must be float32, got float64"):
        f(x.astype(np.float64), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: x must be 4-D \(N, C, H, W\)"):
        f(x[0], (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: padding must be at most half the "
                                         r"kernel size, got padding \(2, 0\) for kernel \(3, 3\)"):
        f(x, (3, 3), (1, 1), (2, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: kernel \(9, 2\) is larger than the "
                                         r"padded input \(8, 8\)"):
        f(x, (9, 2), (1, 1), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: kernel_size must be .* in \[1, "):
        f(x, (0, 2), (1, 1), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: stride must be .* in \[1, "):
        f(x, (2, 2), (2, 0), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: padding must be .* in \[0, "):
        f(x, (2, 2), (2, 2), (-1, 0))
    with pytest.raises(ValueError, match="max_pool2d_forward: kernel_size must be a sequence of 2"):
        f(x, (2,), (2, 2), (0, 0))
    with pytest.raises(TypeError, match="max_pool2d_forward: kernel_size must be a sequence"):
        f(x, 2, (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: x must have planes of at least "
                                         r"1x1, got shape \(2, 3, 0, 8\)"):
        f(np.ones((2, 3, 0, 8), np.float32), (2, 2), (2, 2), (1, 1))
    for bad in [((3, 3), (1, 1), (2, 0)), ((9, 2), (1, 1), (0, 0)), ((0, 2), (1, 1), (0, 0))]:
        with pytest.raises(ValueError, match="max_pool2d"):
            ref.max_pool2d_forward(x, *bad)


def test_max_pool2d_backward_errors():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    out, indices = cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    grad = np.ones_like(out)
    b = cpu.max_pool2d_backward
    with pytest.raises(TypeError, match="max_pool2d_backward: grad_output must be float32"):
        b(grad.astype(np.float64), indices, x.shape)
    with pytest.raises(TypeError, match="max_pool2d_backward: indices must be int64, got int32"):
        b(grad, indices.astype(np.int32), x.shape)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: indices must have shape "
                                         r"\(2, 3, 4, 4\), got \(2, 3, 4, 3\)"):
        b(grad, indices[..., :3], x.shape)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: grad_output must be \(N, C, OH, "
                                         r"OW\) with \(N, C\) = \(3, 2\)"):
        b(grad, indices, (3, 2, 8, 8))
    with pytest.raises(ValueError, match="max_pool2d_backward: grad_output must be 4-D"):
        b(grad[0], indices[0], x.shape)
    with pytest.raises(ValueError, match="max_pool2d_backward: input_shape must be a sequence of "
                                         "4 integers"):
        b(grad, indices, (2, 3, 64))
    for position, value in [((0, 0, 0, 0), -1), ((1, 2, 3, 3), 64), ((1, 1, 2, 0), 2**62)]:
        bad = indices.copy()
        bad[position] = value
        flat = np.ravel_multi_index(position, bad.shape)
        with pytest.raises(ValueError, match=rf"max_pool2d_backward: indices must be in \[0, 64\) "
                                             rf".* got {value} at flat position {flat}"):
            b(grad, bad, x.shape)
        with pytest.raises(ValueError, match="max_pool2d"):
            ref.max_pool2d_backward(grad, bad, x.shape)
    # Indices that fit a bigger plane are refused for a smaller one.
    with pytest.raises(ValueError, match=r"indices must be in \[0, 49\)"):
        b(grad, np.full(indices.shape, 49, np.int64), (2, 3, 7, 7))
    with pytest.raises(ValueError, match=r"indices must be in \[0, 0\)"):
        b(grad, indices, (2, 3, 0, 8))


def test_max_pool2d_backward_bad_index_in_a_large_array(threads):
    # The index check runs in parallel chunks; the first bad position must still be the one
    # reported, whichever chunk finds it first.
    indices = np.zeros((8, 16, 64, 64), np.int64)
    indices[7, 15, 63, 60] = 4096
    indices[2, 3, 4, 5] = -7
    grad = np.ones(indices.shape, np.float32)
    flat = np.ravel_multi_index((2, 3, 4, 5), indices.shape)
    with pytest.raises(ValueError, match=rf"got -7 at flat position {flat}$"):
        cpu.max_pool2d_backward(grad, indices, (8, 16, 64, 64))


# --- NumPy reference gradient ---------------------------------------------------------------

@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)),
                                                   ((3, 3), (2, 2), (1, 1)),
                                                   ((3, 2), (1, 2), (1, 1))])
def test_reference_max_pool2d_gradient_by_finite_differences(kernel, stride, padding):
    rng = np.random.default_rng(11)
    # A permutation, spaced 1e-2 apart: no ties, so the maximum is differentiable.
    x = (rng.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) * 1e-2).astype(np.float64)
    out, indices = ref.max_pool2d_forward(x, kernel, stride, padding)
    assert out.dtype == np.float64
    grad_y = rng.standard_normal(out.shape)

    def loss():
        return float(np.sum(grad_y * ref.max_pool2d_forward(x, kernel, stride, padding)[0]))

    np.testing.assert_allclose(ref.max_pool2d_backward(grad_y, indices, x.shape),
                               finite_difference(loss, x), rtol=1e-6, atol=1e-8)
