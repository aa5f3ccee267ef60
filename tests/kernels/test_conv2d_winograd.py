"""conv2d's Winograd path (3x3 kernels at stride 1, >= 16 channels each way, AVX-512): the
geometries that stress how its transforms gather tiles 16 at a time, one per vector lane,
from runs along tile rows (a group spans several tile rows and images; a long run is read
in chunks of 7 input or 8 output tiles; a group of 16 one-tile images has 16 runs; the last
group of a block is partly empty), against the NumPy reference within conv2d's tolerance
(tests/kernels/test_conv2d.py), and bit for bit the same with 1, 2 and 3 threads. The fused
Conv2d-ReLU-MaxPool2d kernel, which pools inside the output transform, is compared with the
kernels one by one. Without AVX-512 the same shapes run through im2col, and must pass too.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import with_threads
from kernels.test_conv2d import (check_backward_input, check_backward_weight, check_forward,
                                 operands)
from kernels.test_conv2d_relu_pool import assert_same_bits, one_by_one
from kernels.test_conv2d_relu_pool import operands as pool_operands

cpu = get("cpu")

# (N, C, H, W, O, padding); the comments give the output's tiles (rows x columns).
SHAPES = [
    (64, 32, 14, 14, 64, (1, 1)),   # MNIST layer 2: 7 x 7, groups span rows and images
    (1, 32, 14, 14, 64, (1, 1)),    # batch 1: 49 tiles, the last group has one
    (17, 16, 1, 1, 16, (1, 1)),     # 1 x 1: a group of 16 images, 16 runs
    (9, 17, 2, 4, 19, (1, 1)),      # 1 x 2, odd channel counts, O not a multiple of 4 or 8
    (3, 19, 33, 31, 18, (1, 1)),    # 17 x 16: runs of 16 tiles cut into chunks of 7 and 8
    (2, 16, 15, 15, 33, (0, 0)),    # 13 x 13 output: the last tile row and column clipped
    (2, 33, 13, 11, 16, (2, 2)),    # padding 2: the input gradient's transform reads no padding
    (5, 16, 40, 40, 16, (1, 1)),    # 20 x 20 tiles a plane: several weight-gradient blocks
    (1, 64, 40, 40, 48, (1, 1)),    # blocks of a few tile rows: each copies part of a plane
]


def shape_id(shape):
    n, c, h, w, o, padding = shape
    return f"{n}x{c}x{h}x{w}-o{o}-p{padding[0]}{padding[1]}"


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_matches_reference_and_any_thread_count(shape):
    n, c, h, w, o, padding = shape
    x, weight, bias, grad = operands(n, c, h, w, o, 3, 3, (1, 1), padding, seed=n + c + o)

    def run():
        return (check_forward(x, weight, bias, (1, 1), padding),
                check_backward_input(grad, weight, x.shape, (1, 1), padding),
                check_backward_weight(grad, x, weight.shape, (1, 1), padding))

    first = with_threads(1, run)
    for threads in (2, 3):
        for got, want in zip(with_threads(threads, run), first):
            assert_same_bits(got, want)


@pytest.mark.parametrize("shape", [s for s in SHAPES if (s[2] + 2 * s[5][0] - 2) % 2 == 0
                                   and (s[3] + 2 * s[5][1] - 2) % 2 == 0], ids=shape_id)
def test_pooled_forward_same_bits_as_the_kernels_one_by_one(shape):
    # Even outputs: each 2x2 tile is one pooling window, pooled in the output transform.
    n, c, h, w, o, padding = shape
    x, weight, bias, grad = pool_operands(n, c, h, w, o, 3, (1, 1), padding, seed=n * c)

    def run():
        pooled, codes = _C.conv2d_relu_pool_forward(x, weight, bias, (1, 1), padding)
        return (pooled, codes) + _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1),
                                                              padding, True, True, True)

    want_pooled, want_grads = one_by_one(x, weight, bias, (1, 1), padding, grad)
    for threads in (1, 2, 3):
        pooled, codes, *grads = with_threads(threads, run)
        assert_same_bits(pooled, want_pooled)
        for got, want in zip(grads, want_grads):
            assert_same_bits(got, want)


def test_values_stay_in_their_own_tiles():
    # One huge value in image 7 of 16 (9 tiles each: the groups of 16 tiles mix images): a
    # lane leaking into another would put ~1e30 into an output that cannot see it.
    x, weight, bias, grad = operands(16, 16, 6, 6, 16, 3, 3, (1, 1), (1, 1), seed=4)
    x[7, 5, 0, 1] = 1e30
    forward = cpu.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
    assert np.all(np.abs(np.delete(forward, 7, axis=0)) < 1e6)
    # Pixel (0, 1) is in the patches of tile row 0 (input rows -1..2) and tile columns 0
    # (-1..2) and 1 (1..4): outputs from row 2 or from column 4 on are out of its reach.
    # (Column 3 is in it, though not in the pixel's receptive field: there the huge terms
    # cancel, leaving rounding noise of any size.)
    assert np.all(np.abs(forward[7][:, 2:, :]) < 1e6)
    assert np.all(np.abs(forward[7][:, :, 4:]) < 1e6)
    assert np.all(np.abs(forward[7][:, :2, :3]) > 1e20)
    # Only input channel 5's kernels see it in the weight gradient (exactly, its rows 0
    # and 1; row 2 gets the cancellation's noise).
    grad_weight = cpu.conv2d_backward_weight(grad, x, weight.shape, (1, 1), (1, 1))
    assert np.all(np.abs(np.delete(grad_weight, 5, axis=1)) < 1e6)
    assert np.all(np.abs(grad_weight[:, 5, :2]) > 1e20)
    # And only image 7 in the input gradient.
    grad[7, 3, 5, 5] = 1e30
    grad_input = cpu.conv2d_backward_input(grad, weight, x.shape, (1, 1), (1, 1))
    assert np.all(np.abs(np.delete(grad_input, 7, axis=0)) < 1e6)
    assert np.all(np.abs(grad_input[7][:, 4:, 4:]) > 1e20)
