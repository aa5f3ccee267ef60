"""conv2d's few-channel path (3x3 at stride 1, at most 8 input channels, AVX-512:
csrc/kernels/conv2d_small_channels.h) and the fused conv2d_relu_pool built on it: against the
NumPy reference within conv2d's tolerance (tests/kernels/test_conv2d.py), the same bits for
1, 2 and 3 threads, and the fused kernels bit for bit the kernels one by one (the fused
backward without the input gradient sums planes it rebuilds per image, so it is checked
against the path that keeps the whole gradient too). Shapes cover every output-channel
remainder of the blocks (16, 8, 4, 2, 1 in the forward; 2, 1 in the weight gradient), rows of
one, two and three 16-wide strips, exact multiples of 16, odd outputs that pooling drops a
row and a column of, a 1x1 output, batch 1 and padding 0, 1, 2."""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import with_threads
from kernels.test_conv2d import (check_backward_input, check_backward_weight, check_forward,
                                 operands)
from kernels.test_conv2d_relu_pool import assert_same_bits, one_by_one

ref = get("numpy")

# (N, C, H, W, O, padding)
SHAPES = [
    (64, 1, 28, 28, 32, (1, 1)),   # MNIST layer 1
    (1, 1, 13, 17, 5, (1, 1)),     # odd sides; O = 5: blocks of 4 and 1
    (2, 2, 13, 17, 9, (0, 0)),     # 11 x 15 output; 8 + 1 channels
    (3, 3, 7, 9, 15, (1, 1)),      # 8 + 4 + 2 + 1 channels
    (1, 2, 10, 12, 31, (1, 1)),    # 16 + 8 + 4 + 2 + 1 channels
    (1, 1, 3, 3, 1, (0, 0)),       # a 1x1 output
    (2, 3, 1, 1, 4, (1, 1)),       # a 1x1 input
    (2, 1, 5, 40, 17, (1, 1)),     # three strips, the last of 8
    (1, 2, 33, 16, 11, (1, 1)),    # rows of exactly one strip
    (2, 1, 4, 30, 3, (0, 1)),      # rows of exactly two strips, asymmetric padding
    (2, 1, 6, 6, 3, (2, 2)),       # padding 2
    (5, 2, 12, 14, 2, (2, 0)),
    (2, 8, 9, 11, 10, (1, 1)),     # the most channels the path takes
    (2, 9, 9, 11, 10, (1, 1)),     # one more: im2col
]


def shape_id(shape):
    n, c, h, w, o, padding = shape
    return f"{n}x{c}x{h}x{w}-o{o}-p{padding[0]}{padding[1]}"


def conv_operands(shape, seed, bias=True):
    n, c, h, w, o, padding = shape
    return operands(n, c, h, w, o, 3, 3, (1, 1), padding, seed=seed, bias=bias)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_matches_reference(shape, setting):
    padding = shape[-1]
    x, weight, bias, grad = conv_operands(shape, seed=sum(shape[:5]))
    check_forward(x, weight, bias, (1, 1), padding)
    check_forward(x, weight, None, (1, 1), padding)
    check_backward_weight(grad, x, weight.shape, (1, 1), padding)
    check_backward_input(grad, weight, x.shape, (1, 1), padding)


def test_large_batch_weight_gradient_within_tolerance():
    # 512 images: each lane sums 512 * 28 * 2 products in float before the lanes are added.
    shape = (512, 1, 28, 28, 4, (1, 1))
    x, weight, _, grad = conv_operands(shape, seed=11)
    check_backward_weight(grad, x, weight.shape, (1, 1), (1, 1))


@pytest.mark.parametrize("shape", [SHAPES[0], (3, 3, 7, 9, 15, (1, 1)),
                                   (1, 2, 10, 12, 31, (1, 1)), (2, 1, 5, 40, 17, (1, 1))],
                         ids=shape_id)
def test_same_bits_for_any_thread_count(shape):
    padding = shape[-1]
    x, weight, bias, grad = conv_operands(shape, seed=3)
    pooled_grad = grad[:, :, : grad.shape[2] // 2, : grad.shape[3] // 2].copy()

    def run():
        pooled, codes = _C.conv2d_relu_pool_forward(x, weight, bias, (1, 1), padding)
        return ((_C.conv2d_forward(x, weight, bias, (1, 1), padding),
                 _C.conv2d_backward_weight(grad, x, weight.shape, (1, 1), padding), pooled, codes)
                + _C.conv2d_relu_pool_backward(pooled_grad, codes, x, weight, (1, 1), padding,
                                               False, True, True)[1:])

    first = with_threads(1, run)
    for threads in (2, 3):
        for got, want in zip(with_threads(threads, run), first):
            if got.dtype == np.uint8:  # the codes
                np.testing.assert_array_equal(got, want)
            else:
                assert_same_bits(got, want)


def pooled_operands(shape, seed, bias=True):
    x, weight, b, grad = conv_operands(shape, seed, bias)
    return x, weight, b, grad[:, :, : grad.shape[2] // 2, : grad.shape[3] // 2].copy()


def check_fused(x, weight, b, grad, padding):
    pooled, codes = _C.conv2d_relu_pool_forward(x, weight, b, (1, 1), padding)
    want_pooled, (want_x, want_weight, want_bias) = one_by_one(x, weight, b, (1, 1), padding,
                                                                grad)
    assert_same_bits(pooled, want_pooled)
    # With the input gradient (the whole output gradient kept) and without it (planes
    # rebuilt per image), alone and together.
    got_x, got_weight, got_bias = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1),
                                                               padding, True, True, True)
    assert_same_bits(got_x, want_x)
    assert_same_bits(got_weight, want_weight)
    assert_same_bits(got_bias, want_bias)
    _, got_weight, got_bias = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1),
                                                           padding, False, True, True)
    assert_same_bits(got_weight, want_weight)
    assert_same_bits(got_bias, want_bias)
    _, got_weight, _ = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), padding,
                                                    False, True, False)
    assert_same_bits(got_weight, want_weight)
    _, _, got_bias = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), padding, False,
                                                  False, True)
    assert_same_bits(got_bias, want_bias)
    return codes


@pytest.mark.parametrize("shape", [s for s in SHAPES if min(s[2] + 2 * s[5][0],
                                                           s[3] + 2 * s[5][1]) >= 4],
                         ids=shape_id)
def test_fused_same_bits_as_the_kernels_one_by_one(shape, setting):
    for bias in (True, False):
        x, weight, b, grad = pooled_operands(shape, seed=sum(shape[:5]), bias=bias)
        check_fused(x, weight, b, grad, shape[-1])


@pytest.mark.parametrize("case", ["ties-positive", "ties-negative", "zeros", "nan", "inf"])
@pytest.mark.parametrize("channels", [1, 3])
def test_fused_special_values_as_the_kernels_one_by_one(case, channels, isa):
    x, weight, b, grad = pooled_operands((2, channels, 7, 21, 16, (1, 1)), seed=7)
    if case.startswith("ties"):
        weight[:] = 0
        b[:] = 1.5 if case == "ties-positive" else -0.5
        b[::3] = 0
    elif case == "zeros":
        x[:] = 0
        b[::2] = -0.0
        b[1::2] = 0.0
    elif case == "nan":
        x[0, 0, 2, 2] = np.nan
        x[1, :, 0, 5] = np.nan
    else:
        x[0, 0, 1, :] = np.inf
        x[1, channels - 1, :, 3] = -np.inf
    codes = check_fused(x, weight, b, grad, (1, 1))
    if case == "ties-negative":
        assert (codes[:, 1::3] == 4).all()
    if case == "ties-positive":
        assert (codes[:, 1::3] == 0).all()


@pytest.mark.parametrize("padding", [(1, 1), (0, 0)], ids=["p11", "p00"])
def test_nan_and_inf_reach_only_the_outputs_they_reach_in_the_reference(padding, setting):
    # Values in the edge columns and rows are read by some taps only; the strips' lanes past
    # the row's end must not carry them into the other taps' sums (0 * inf is NaN).
    x, weight, bias, grad = conv_operands((2, 2, 9, 21, 5, padding), seed=13)
    x[0, 0, 3, -1] = np.inf
    x[0, 1, -1, 4] = -np.inf
    x[1, 0, 2, 0] = np.nan
    x[1, 1, 0, -1] = np.nan
    with np.errstate(invalid="ignore"):  # the reference's inf - inf
        pairs = [(_C.conv2d_forward(x, weight, bias, (1, 1), padding),
                  ref.conv2d_forward(x, weight, bias, (1, 1), padding)),
                 (_C.conv2d_backward_weight(grad, x, weight.shape, (1, 1), padding),
                  ref.conv2d_backward_weight(grad, x, weight.shape, (1, 1), padding))]
    for got, want in pairs:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        assert finite.any() and not finite.all()
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-4, atol=1e-3)
