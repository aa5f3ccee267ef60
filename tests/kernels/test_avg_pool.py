"""avg_pool (avg_pool2d, adaptive_avg_pool2d): compiled kernels against the NumPy reference,
bit-identical results across thread counts, the reference's gradients against float64
finite differences, and the bindings' memory-safety checks.

Tolerance: window sums of at most kh * kw values in different orders: rtol/atol 1e-6 (the
2x2 path and non-overlapping windows add in the same order and match to 1 ulp).
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import finite_difference

cpu = get("cpu")
ref = get("numpy")

POOL_CASES = [  # (input shape, kernel, stride, padding)
    ((2, 3, 24, 24), (2, 2), (2, 2), (0, 0)),
    ((1, 1, 7, 9), (2, 2), (2, 2), (0, 0)),
    ((2, 3, 9, 11), (3, 2), (2, 1), (1, 1)),
    ((1, 2, 5, 5), (3, 3), (1, 1), (1, 1)),
    ((3, 1, 8, 13), (4, 3), (3, 2), (2, 0)),
    ((1, 1, 1, 1), (1, 1), (1, 1), (0, 0)),
    ((64, 16, 8, 8), (2, 2), (2, 2), (0, 0)),
    ((2, 5, 31, 17), (5, 5), (2, 3), (2, 1)),
]
ADAPTIVE_CASES = [((2, 3, 9, 11), (4, 5)), ((1, 1, 7, 7), (1, 1)), ((2, 2, 5, 3), (7, 6)),
                  ((3, 4, 10, 10), (5, 5)), ((1, 2, 13, 1), (3, 1)), ((8, 16, 14, 14), (3, 4))]


def draw(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(got, want):
    assert got.dtype == np.float32 and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_CASES)
def test_avg_pool2d_matches_reference(shape, kernel, stride, padding, count_include_pad,
                                      setting):
    x = draw(shape)
    out = cpu.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)
    close(out, ref.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad))
    grad = draw(out.shape, 1)
    close(cpu.avg_pool2d_backward(grad, shape, kernel, stride, padding, count_include_pad),
          ref.avg_pool2d_backward(grad, shape, kernel, stride, padding, count_include_pad))


@pytest.mark.parametrize("shape, output_size", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_reference(shape, output_size, setting):
    x = draw(shape)
    out = cpu.adaptive_avg_pool2d_forward(x, output_size)
    close(out, ref.adaptive_avg_pool2d_forward(x, output_size))
    grad = draw(out.shape, 1)
    close(cpu.adaptive_avg_pool2d_backward(grad, shape),
          ref.adaptive_avg_pool2d_backward(grad, shape))


def test_adaptive_windows_follow_pytorch_split():
    # H = 5 into 3: windows [0, 2), [1, 4), [3, 5).
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 5, 1)
    out = cpu.adaptive_avg_pool2d_forward(x, (3, 1))
    np.testing.assert_array_equal(out.ravel(), [0.5, 2.0, 3.5])


def test_same_bits_for_any_thread_count():
    x = draw((64, 6, 24, 24), 2)
    saved = _C.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            _C.set_num_threads(threads)
            out = cpu.avg_pool2d_forward(x, (3, 3), (2, 2), (1, 1), True)
            back = cpu.avg_pool2d_backward(out, x.shape, (3, 3), (2, 2), (1, 1), True)
            adaptive = cpu.adaptive_avg_pool2d_forward(x, (5, 7))
            adaptive_back = cpu.adaptive_avg_pool2d_backward(adaptive, x.shape)
            results.append((out, back, adaptive, adaptive_back))
    finally:
        _C.set_num_threads(saved)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_binding_checks():
    x = draw((1, 2, 5, 5))
    with pytest.raises(TypeError, match="avg_pool2d_forward: x must be float32"):
        _C.avg_pool2d_forward(x.astype(np.float64), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"avg_pool2d_forward: x must be 4-D"):
        _C.avg_pool2d_forward(x[0], (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="padding must be at most half the kernel size"):
        _C.avg_pool2d_forward(x, (2, 2), (2, 2), (2, 0))
    with pytest.raises(ValueError, match="kernel is larger than the padded input"):
        _C.avg_pool2d_forward(x, (7, 2), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="avg_pool2d_backward: grad_output must have shape"):
        _C.avg_pool2d_backward(draw((1, 2, 3, 3)), (1, 2, 5, 5), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="output_size must be a sequence of 2 integers in"):
        _C.adaptive_avg_pool2d_forward(x, (0, 2))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d_backward: grad_output must be"):
        _C.adaptive_avg_pool2d_backward(draw((2, 2, 3, 3)), (1, 2, 5, 5))
    with pytest.raises(ValueError, match="planes of at least 1x1"):
        _C.adaptive_avg_pool2d_forward(np.zeros((1, 1, 0, 3), np.float32), (1, 1))


# --- NumPy reference gradients ----------------------------------------------------------------

@pytest.mark.parametrize("count_include_pad", [True, False])
def test_reference_avg_pool2d_gradient(count_include_pad):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 6))
    arguments = ((3, 2), (2, 1), (1, 1), count_include_pad)
    projection = rng.standard_normal(ref.avg_pool2d_forward(x, *arguments).shape)

    def loss():
        return float((ref.avg_pool2d_forward(x, *arguments) * projection).sum())

    np.testing.assert_allclose(ref.avg_pool2d_backward(projection, x.shape, *arguments),
                               finite_difference(loss, x), rtol=1e-6, atol=1e-8)


def test_reference_adaptive_avg_pool2d_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 1, 5, 7))
    projection = rng.standard_normal((2, 1, 3, 4))

    def loss():
        return float((ref.adaptive_avg_pool2d_forward(x, (3, 4)) * projection).sum())

    np.testing.assert_allclose(ref.adaptive_avg_pool2d_backward(projection, x.shape),
                               finite_difference(loss, x), rtol=1e-6, atol=1e-8)
