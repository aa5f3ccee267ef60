"""conv2d: compiled kernels against the NumPy reference, and the reference's gradients
against float64 finite differences.

Tolerance: each result is compared with the reference evaluated in float64 on the same
float32 inputs, elementwise:
    |cunn - reference| <= 1e-5 * sqrt(K) * S + 1e-30
where S is the same kernel evaluated on |inputs| (the sum of the magnitudes of the terms)
and K the number of terms one result element sums: C*kh*kw for the forward, O*kh*kw for
the input gradient, N*OH*OW for the weight gradient. That is the forward-error bound of a
K-term float32 dot product with random-walk sqrt(K) growth (and a 100x margin); a wrong
term is off by O(1) of that scale, so the check cannot pass by accident.
Finite differences: central, step 1e-6, float64, rtol 1e-6, atol 1e-8.
"""
import concurrent.futures

import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import finite_difference, with_threads

cpu = get("cpu")
ref = get("numpy")


def operands(batch, channels, height, width, out_channels, kernel_h, kernel_w, stride, padding,
             seed=0, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, height, width)).astype(np.float32)
    weight = rng.standard_normal((out_channels, channels, kernel_h, kernel_w)).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32) if bias else None
    out_h = (height + 2 * padding[0] - kernel_h) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel_w) // stride[1] + 1
    grad = rng.standard_normal((batch, out_channels, out_h, out_w)).astype(np.float32)
    return x, weight, b, grad


def f64(array):
    return None if array is None else np.asarray(array, dtype=np.float64)


def check_close(got, want, scale, terms):
    assert got.dtype == np.float32
    assert got.shape == want.shape
    assert got.flags.c_contiguous
    tolerance = 1e-5 * np.sqrt(max(terms, 1)) * scale + 1e-30
    error = np.abs(got.astype(np.float64) - want)
    if error.size:
        worst = np.unravel_index(np.argmax(error - tolerance), error.shape)
        assert np.all(error <= tolerance), (
            f"max excess at {worst}: got {got[worst]}, expected {want[worst]}, "
            f"tolerance {tolerance[worst]}")


def check_forward(x, weight, bias, stride, padding):
    got = cpu.conv2d_forward(x, weight, bias, stride, padding)
    want = ref.conv2d_forward(f64(x), f64(weight), f64(bias), stride, padding)
    scale = ref.conv2d_forward(np.abs(f64(x)), np.abs(f64(weight)),
                               None if bias is None else np.abs(f64(bias)), stride, padding)
    check_close(got, want, scale, weight[0].size)
    return got


def check_backward_input(grad, weight, input_shape, stride, padding):
    got = cpu.conv2d_backward_input(grad, weight, input_shape, stride, padding)
    want = ref.conv2d_backward_input(f64(grad), f64(weight), input_shape, stride, padding)
    scale = ref.conv2d_backward_input(np.abs(f64(grad)), np.abs(f64(weight)), input_shape, stride,
                                      padding)
    o, _, kh, kw = weight.shape
    check_close(got, want, scale, o * kh * kw)
    return got


def check_backward_weight(grad, x, weight_shape, stride, padding):
    got = cpu.conv2d_backward_weight(grad, x, weight_shape, stride, padding)
    want = ref.conv2d_backward_weight(f64(grad), f64(x), weight_shape, stride, padding)
    scale = ref.conv2d_backward_weight(np.abs(f64(grad)), np.abs(f64(x)), weight_shape, stride,
                                       padding)
    check_close(got, want, scale, grad.shape[0] * grad.shape[2] * grad.shape[3])
    return got


# (N, C, H, W, O, kh, kw, stride, padding)
SHAPES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0)),
    (1, 3, 7, 7, 5, 3, 3, (1, 1), (1, 1)),
    (2, 5, 11, 13, 7, 1, 1, (1, 1), (0, 0)),       # 1x1: the column matrix is x itself
    (3, 2, 9, 9, 4, 1, 1, (2, 2), (0, 0)),         # 1x1 with stride
    (2, 3, 6, 7, 4, 1, 1, (1, 1), (1, 2)),         # 1x1 with padding
    (2, 3, 5, 5, 4, 5, 5, (1, 1), (0, 0)),         # kernel = input
    (1, 2, 3, 4, 3, 5, 6, (1, 1), (1, 1)),         # kernel = padded input
    (2, 3, 10, 11, 5, 3, 3, (2, 2), (1, 1)),
    (2, 4, 13, 17, 3, 3, 2, (3, 3), (2, 1)),
    (3, 3, 12, 9, 6, 2, 3, (1, 2), (0, 1)),        # asymmetric stride
    (2, 2, 8, 9, 3, 3, 3, (3, 1), (1, 0)),
    (1, 7, 6, 6, 11, 3, 3, (1, 1), (3, 3)),        # padding wider than the kernel
    (2, 17, 19, 23, 13, 5, 3, (2, 1), (2, 1)),     # primes
    (1, 3, 4, 30, 2, 3, 7, (1, 1), (1, 3)),        # OW = W but OH != H
    (2, 4, 9, 9, 3, 4, 4, (1, 1), (1, 1)),         # even kernel: OW = W - 1
    (5, 1, 28, 28, 32, 3, 3, (1, 1), (1, 1)),      # MNIST layer 1 (C = 1, K = 9)
    (4, 32, 14, 14, 64, 3, 3, (1, 1), (1, 1)),     # MNIST layer 2
    (17, 3, 8, 8, 9, 3, 3, (1, 1), (1, 1)),        # more images than weight-gradient groups
    (33, 2, 5, 5, 3, 3, 3, (2, 2), (0, 0)),
    (2, 64, 40, 40, 8, 3, 3, (1, 1), (1, 1)),      # several column blocks; K = 576 > 512
    (1, 128, 33, 33, 5, 3, 3, (2, 2), (1, 1)),     # column blocks with stride 2
    (1, 600, 12, 12, 3, 3, 3, (1, 1), (1, 1)),     # one output row per column block
    (16, 512, 6, 6, 64, 3, 3, (2, 2), (1, 1)),     # weight-gradient partials capped: 14 groups
    # 3x3 at stride 1 with >= 16 channels each way: Winograd F(2x2, 3x3) with AVX-512
    (2, 16, 5, 5, 16, 3, 3, (1, 1), (1, 1)),       # the fewest channels it takes
    (1, 17, 7, 9, 19, 3, 3, (1, 1), (0, 0)),       # odd OH, OW: the last tiles are clipped
    (2, 16, 6, 8, 24, 3, 3, (1, 1), (2, 2)),       # padding 2: the input gradient has none
    (1, 16, 6, 6, 16, 3, 3, (1, 1), (3, 1)),       # padding 3: input gradient by im2col
    (2, 18, 9, 10, 16, 3, 3, (1, 1), (1, 2)),      # asymmetric padding
    (3, 20, 31, 37, 18, 3, 3, (1, 1), (1, 1)),     # 19 tiles a row; blocks split tile rows
    (3, 16, 4, 4, 16, 3, 3, (1, 1), (0, 0)),       # one tile per image
    (2, 16, 3, 3, 17, 3, 3, (1, 1), (0, 0)),       # a 1x1 output
    (2, 16, 1, 1, 16, 3, 3, (1, 1), (1, 1)),       # a 1x1 input
    (1, 15, 8, 8, 64, 3, 3, (1, 1), (1, 1)),       # 15 channels: just below, im2col
]


def shape_id(shape):
    n, c, h, w, o, kh, kw, stride, padding = shape
    return f"{n}x{c}x{h}x{w}-o{o}-k{kh}x{kw}-s{stride[0]}{stride[1]}-p{padding[0]}{padding[1]}"


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_conv2d_matches_reference(shape, setting):
    *sizes, stride, padding = shape
    x, weight, bias, grad = operands(*sizes, stride, padding, seed=sum(sizes))
    check_forward(x, weight, bias, stride, padding)
    check_forward(x, weight, None, stride, padding)
    check_backward_input(grad, weight, x.shape, stride, padding)
    check_backward_weight(grad, x, weight.shape, stride, padding)


def test_conv2d_mnist_batch_64(threads):
    for shape in [(64, 1, 28, 28, 32, 3, 3), (64, 32, 14, 14, 64, 3, 3)]:
        x, weight, bias, grad = operands(*shape, (1, 1), (1, 1), seed=shape[1])

        def run():
            check_forward(x, weight, bias, (1, 1), (1, 1))
            check_backward_input(grad, weight, x.shape, (1, 1), (1, 1))
            check_backward_weight(grad, x, weight.shape, (1, 1), (1, 1))

        run()


@pytest.mark.parametrize("isa_cap", [None, "generic"])
@pytest.mark.parametrize("shape", [
    (64, 1, 28, 28, 32, 3, 3, (1, 1), (1, 1)), (64, 32, 14, 14, 64, 3, 3, (1, 1), (1, 1)),
    (1, 32, 14, 14, 64, 3, 3, (1, 1), (1, 1)), (17, 8, 9, 9, 5, 3, 3, (2, 2), (1, 1)),
    (3, 16, 10, 10, 24, 1, 1, (1, 1), (0, 0)), (2, 64, 40, 40, 8, 3, 3, (1, 1), (1, 1)),
    (5, 16, 11, 13, 20, 3, 3, (1, 1), (1, 1)), (3, 20, 31, 37, 18, 3, 3, (1, 1), (0, 2)),
    (9, 48, 20, 20, 40, 3, 3, (1, 1), (1, 1)),
], ids=shape_id)
def test_conv2d_same_for_any_thread_count(shape, isa_cap):
    # Threads take whole images or tile blocks (or sgemm splits a lone one), and the weight
    # gradient sums fixed groups in order, so the bits cannot depend on the thread count.
    *sizes, stride, padding = shape
    x, weight, bias, grad = operands(*sizes, stride, padding, seed=3)
    saved_isa = _C.isa()
    if isa_cap is not None:
        _C.set_isa_cap(isa_cap)
    try:
        def run():
            return (cpu.conv2d_forward(x, weight, bias, stride, padding),
                    cpu.conv2d_backward_input(grad, weight, x.shape, stride, padding),
                    cpu.conv2d_backward_weight(grad, x, weight.shape, stride, padding))

        results = [with_threads(count, run) for count in (1, 2)]
    finally:
        _C.set_isa_cap(saved_isa)
    for single, double in zip(*results):
        np.testing.assert_array_equal(single, double)


def test_conv2d_empty_sizes(setting):
    # No images: empty outputs and a zero weight gradient. No output channels: empty
    # output, zero input gradient. No input channels: the output is the bias.
    x, weight, bias, grad = operands(0, 3, 5, 5, 4, 3, 3, (1, 1), (1, 1))
    assert cpu.conv2d_forward(x, weight, bias, (1, 1), (1, 1)).shape == (0, 4, 5, 5)
    assert cpu.conv2d_backward_input(grad, weight, x.shape, (1, 1), (1, 1)).shape == (0, 3, 5, 5)
    np.testing.assert_array_equal(cpu.conv2d_backward_weight(grad, x, weight.shape, (1, 1), (1, 1)),
                                  np.zeros(weight.shape, np.float32))
    x, weight, bias, grad = operands(2, 3, 5, 5, 0, 3, 3, (1, 1), (1, 1))
    assert cpu.conv2d_forward(x, weight, bias, (1, 1), (1, 1)).shape == (2, 0, 5, 5)
    np.testing.assert_array_equal(cpu.conv2d_backward_input(grad, weight, x.shape, (1, 1), (1, 1)),
                                  np.zeros(x.shape, np.float32))
    x, weight, bias, grad = operands(2, 0, 5, 5, 3, 3, 3, (1, 1), (0, 0))
    np.testing.assert_array_equal(cpu.conv2d_forward(x, weight, bias, (1, 1), (0, 0)),
                                  np.broadcast_to(bias[None, :, None, None], (2, 3, 3, 3)))
    np.testing.assert_array_equal(cpu.conv2d_forward(x, weight, bias, (1, 1), (0, 0)),
                                  ref.conv2d_forward(x, weight, bias, (1, 1), (0, 0)))


def test_conv2d_noncontiguous_inputs(setting):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 9, 10, 4)).astype(np.float32).transpose(0, 3, 1, 2)  # NHWC data
    weight = rng.standard_normal((3, 3, 4, 10)).astype(np.float32).transpose(3, 2, 1, 0)
    bias = rng.standard_normal(20).astype(np.float32)[::2]
    grad = rng.standard_normal((3, 10, 9, 10)).astype(np.float32)[:, :, :, ::-1]  # negative strides
    assert not x.flags.c_contiguous and not weight.flags.c_contiguous
    assert not bias.flags.c_contiguous and not grad.flags.c_contiguous
    stride, padding = (1, 1), (1, 1)
    check_forward(x, weight, bias, stride, padding)
    check_backward_input(grad, weight, x.shape, stride, padding)
    check_backward_weight(grad, x, weight.shape, stride, padding)
    # Fortran order and a sliced batch.
    check_forward(np.asfortranarray(x), np.asfortranarray(weight), bias, (2, 1), (0, 2))
    big = rng.standard_normal((8, 4, 10, 9)).astype(np.float32)
    check_forward(big[::2], weight, None, stride, padding)


def test_conv2d_accepts_integer_sequences():
    x, weight, bias, _ = operands(2, 3, 8, 8, 4, 3, 3, (2, 2), (1, 1))
    want = cpu.conv2d_forward(x, weight, bias, (2, 2), (1, 1))
    for stride, padding in [([2, 2], [1, 1]), (np.array([2, 2]), (np.int64(1), np.int32(1)))]:
        np.testing.assert_array_equal(cpu.conv2d_forward(x, weight, bias, stride, padding), want)
    grad = np.ones(want.shape, np.float32)
    np.testing.assert_array_equal(
        cpu.conv2d_backward_input(grad, weight, list(x.shape), (2, 2), (1, 1)),
        cpu.conv2d_backward_input(grad, weight, np.array(x.shape), (2, 2), (1, 1)))


def test_conv2d_nan_and_inf_propagate_like_the_reference():
    x, weight, bias, grad = operands(2, 3, 6, 6, 4, 3, 3, (1, 1), (1, 1), seed=9)
    x[0, 1, 2, 3] = np.nan
    x[1, 0, 0, 0] = np.inf
    got = cpu.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
    want = ref.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))


def test_conv2d_is_reentrant_across_python_threads():
    # The GIL is released and the column buffers are per thread: concurrent calls from
    # several Python threads each get their own, unchanged result.
    # im2col (8, 9 channels) and Winograd (16, 17 channels with AVX-512) side by side.
    problems = [operands(4, channels, 12, 12, 16, 3, 3, (1, 1), (1, 1), seed=channels)
                for channels in (8, 9, 16, 17)]
    expected = [(cpu.conv2d_forward(x, w, b, (1, 1), (1, 1)),
                 cpu.conv2d_backward_input(g, w, x.shape, (1, 1), (1, 1)),
                 cpu.conv2d_backward_weight(g, x, w.shape, (1, 1), (1, 1)))
                for x, w, b, g in problems]

    def run(index):
        x, w, b, g = problems[index]
        for _ in range(10):
            got = (cpu.conv2d_forward(x, w, b, (1, 1), (1, 1)),
                   cpu.conv2d_backward_input(g, w, x.shape, (1, 1), (1, 1)),
                   cpu.conv2d_backward_weight(g, x, w.shape, (1, 1), (1, 1)))
            if not all(np.array_equal(a, e) for a, e in zip(got, expected[index])):
                return False
        return True

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, range(4)))


# --- errors ---------------------------------------------------------------------------------

def test_conv2d_forward_errors():
    x, weight, bias, _ = operands(2, 3, 8, 8, 4, 3, 3, (1, 1), (1, 1))
    f = cpu.conv2d_forward
    with pytest.raises(TypeError, match="conv2d_forward: x must be float32, got float64"):
        f(x.astype(np.float64), weight, bias, (1, 1), (1, 1))
    with pytest.raises(TypeError, match="conv2d_forward: weight must be float32, got int64"):
        f(x, weight.astype(np.int64), bias, (1, 1), (1, 1))
    with pytest.raises(TypeError, match="conv2d_forward: bias must be float32"):
        f(x, weight, bias.astype(np.float64), (1, 1), (1, 1))
    with pytest.raises(TypeError, match="conv2d_forward: bias must be float32, got float64"):
        f(x, weight, [0.0] * 4, (1, 1), (1, 1))   # a list becomes float64, which is refused
    with pytest.raises(ValueError, match=r"conv2d_forward: x must be 4-D \(N, C, H, W\), got "
                                         r"shape \(3, 8, 8\)"):
        f(x[0], weight, bias, (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: weight must be 4-D"):
        f(x, weight[0], bias, (1, 1), (1, 1))
    with pytest.raises(ValueError,
                       match="conv2d_forward: weight expects 2 input channels, x has 3"):
        f(x, weight[:, :2], bias, (1, 1), (1, 1))
    with pytest.raises(ValueError,
                       match=r"conv2d_forward: bias must have shape \(4,\), got \(3,\)"):
        f(x, weight, bias[:3], (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: stride must be a sequence of 2 "
                                         r"integers in \[1, 2\^31\), got \(0, 1\)"):
        f(x, weight, bias, (0, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: padding must be .* in \[0, 2\^31\)"):
        f(x, weight, bias, (1, 1), (1, -1))
    with pytest.raises(ValueError, match="conv2d_forward: stride must be a sequence of 2 integers"
                                         ", got 3 of them"):
        f(x, weight, bias, (1, 1, 1), (1, 1))
    with pytest.raises(TypeError, match="conv2d_forward: stride must be a sequence of 2 integers,"
                                        " got int"):
        f(x, weight, bias, 1, (1, 1))
    with pytest.raises(TypeError, match="conv2d_forward: padding must be .* got an item of type "
                                        "float"):
        f(x, weight, bias, (1, 1), (1.0, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: kernel \(11, 3\) is larger than the "
                                         r"padded input \(10, 10\)"):
        f(x, np.ones((4, 3, 11, 3), np.float32), bias, (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: the kernel size must be at least"):
        f(x, np.ones((4, 3, 0, 3), np.float32), bias, (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_forward: stride .* got \(1, 2147483648\)"):
        f(x, weight, bias, (1, 2**31), (1, 1))
    # The reference refuses the same arguments with the same exception types.
    with pytest.raises(ValueError, match="conv2d"):
        ref.conv2d_forward(x, np.ones((4, 3, 11, 3), np.float32), bias, (1, 1), (1, 1))
    with pytest.raises(ValueError, match="conv2d"):
        ref.conv2d_forward(x, weight, bias, (0, 1), (1, 1))


def test_conv2d_backward_errors():
    x, weight, bias, grad = operands(2, 3, 8, 8, 4, 3, 3, (2, 2), (1, 1))
    bi, bw = cpu.conv2d_backward_input, cpu.conv2d_backward_weight
    with pytest.raises(TypeError, match="conv2d_backward_input: grad_output must be float32"):
        bi(grad.astype(np.float64), weight, x.shape, (2, 2), (1, 1))
    with pytest.raises(TypeError, match="conv2d_backward_input: weight must be float32"):
        bi(grad, weight.astype(np.float16), x.shape, (2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_backward_input: grad_output must have shape "
                                         r"\(2, 4, 4, 4\), got \(2, 4, 8, 8\)"):
        bi(np.ones((2, 4, 8, 8), np.float32), weight, x.shape, (2, 2), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_input: weight expects 3 input channels, "
                                         "input_shape has 5"):
        bi(grad, weight, (2, 5, 8, 8), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_input: input_shape must be a sequence "
                                         "of 4 integers, got 3 of them"):
        bi(grad, weight, (2, 3, 8), (2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_backward_input: input_shape must be .* in "
                                         r"\[0, 2\^31\)"):
        bi(grad, weight, (2, 3, -8, 8), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_input: grad_output must be 4-D"):
        bi(grad[0], weight, x.shape, (2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_backward_input: kernel \(3, 3\) is larger"):
        bi(grad, weight, (2, 3, 0, 0), (2, 2), (0, 0))
    with pytest.raises(TypeError, match="conv2d_backward_weight: x must be float32"):
        bw(grad, x.astype(np.float64), weight.shape, (2, 2), (1, 1))
    with pytest.raises(TypeError, match="conv2d_backward_weight: grad_output must be float32"):
        bw(grad.astype(np.int32), x, weight.shape, (2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_backward_weight: grad_output must have shape "
                                         r"\(2, 4, 8, 8\), got \(2, 4, 4, 4\)"):
        bw(grad, x, weight.shape, (1, 1), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_weight: weight_shape expects 2 input "
                                         "channels, x has 3"):
        bw(grad, x, (4, 2, 3, 3), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_weight: weight_shape must be a sequence"
                                         " of 4 integers"):
        bw(grad, x, (4, 3, 3), (2, 2), (1, 1))
    with pytest.raises(TypeError, match="conv2d_backward_weight: weight_shape must be .* got an "
                                        "item of type bool"):
        bw(grad, x, (4, 3, True, 3), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="conv2d_backward_weight: stride"):
        bw(grad, x, weight.shape, (2, 0), (1, 1))


# --- NumPy reference gradients ----------------------------------------------------------------

@pytest.mark.parametrize("stride,padding,kernel", [((1, 1), (1, 1), (3, 3)),
                                                   ((2, 1), (0, 2), (2, 3)),
                                                   ((3, 2), (1, 0), (1, 2))])
def test_reference_conv2d_gradients_by_finite_differences(stride, padding, kernel):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((2, 3, 6, 5))
    weight = rng.standard_normal((4, 3) + kernel)
    bias = rng.standard_normal(4)
    out = ref.conv2d_forward(x, weight, bias, stride, padding)
    assert out.dtype == np.float64
    grad_y = rng.standard_normal(out.shape)

    def loss():
        return float(np.sum(grad_y * ref.conv2d_forward(x, weight, bias, stride, padding)))

    np.testing.assert_allclose(ref.conv2d_backward_input(grad_y, weight, x.shape, stride, padding),
                               finite_difference(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ref.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                               finite_difference(loss, weight), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ref.bias_grad(grad_y, 1), finite_difference(loss, bias),
                               rtol=1e-6, atol=1e-8)


def test_reference_conv2d_forward_matches_direct_sum():
    # The reference's im2col against the defining sum, written out loop by loop.
    rng = np.random.default_rng(32)
    x = rng.standard_normal((2, 2, 5, 6))
    weight = rng.standard_normal((3, 2, 3, 2))
    bias = rng.standard_normal(3)
    stride, padding = (2, 1), (1, 2)
    out = ref.conv2d_forward(x, weight, bias, stride, padding)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
    want = np.zeros(out.shape)
    for n, o, i, j in np.ndindex(out.shape):
        window = padded[n, :, i * 2:i * 2 + 3, j:j + 2]
        want[n, o, i, j] = bias[o] + np.sum(window * weight[o])
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
