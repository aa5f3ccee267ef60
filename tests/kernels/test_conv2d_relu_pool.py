"""conv2d_relu_pool (Conv2d -> ReLU -> MaxPool2d(2) in one kernel each way): the compiled
kernels give, bit for bit, what the compiled conv2d, relu, max_pool2d and bias_grad kernels
give one after the other (with every thread count and ISA); against the NumPy twin within
conv2d's tolerance (tests/kernels/test_conv2d.py); the twin is the composition of the
twins, and its gradients match float64 finite differences (rtol 1e-6, atol 1e-8)."""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get
from kernels.numeric import finite_difference, with_threads
from kernels.test_conv2d import check_close, f64

cpu = get("cpu")
ref = get("numpy")
POOL = ((2, 2), (2, 2), (0, 0))


def operands(batch, channels, height, width, out_channels, kernel, stride, padding, seed=0,
             bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, height, width)).astype(np.float32)
    weight = rng.standard_normal((out_channels, channels, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32) if bias else None
    out_h = (height + 2 * padding[0] - kernel) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel) // stride[1] + 1
    grad = rng.standard_normal((batch, out_channels, out_h // 2, out_w // 2)).astype(np.float32)
    return x, weight, b, grad


def one_by_one(x, weight, bias, stride, padding, grad):
    """The compiled kernels as the three modules call them."""
    conv = _C.conv2d_forward(x, weight, bias, stride, padding)
    relu = _C.relu_forward(conv)
    pooled, indices = _C.max_pool2d_forward(relu, *POOL)
    grad_relu = _C.max_pool2d_backward(grad, indices, relu.shape)
    grad_conv = _C.relu_backward(grad_relu, conv)
    return pooled, (_C.conv2d_backward_input(grad_conv, weight, x.shape, stride, padding),
                    _C.conv2d_backward_weight(grad_conv, x, weight.shape, stride, padding),
                    _C.bias_grad(grad_conv, 1))


def assert_same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


# (N, C, H, W, O, kernel, stride, padding)
SHAPES = [
    (64, 1, 28, 28, 32, 3, (1, 1), (1, 1)),    # MNIST layer 1: C = 1, im2col in chunks
    (64, 32, 14, 14, 64, 3, (1, 1), (1, 1)),   # MNIST layer 2: pooled in Winograd's output
    (1, 1, 2, 2, 1, 1, (1, 1), (0, 0)),        # one window
    (1, 3, 7, 7, 5, 3, (1, 1), (1, 1)),        # odd output: the last row and column dropped
    (3, 2, 9, 12, 4, 2, (2, 1), (0, 1)),       # even kernel, asymmetric stride and padding
    (2, 17, 13, 11, 19, 3, (1, 1), (1, 1)),    # Winograd with an odd output: pooled after
    (2, 16, 6, 8, 24, 3, (1, 1), (1, 1)),      # Winograd, even output, few tiles
    (3, 20, 31, 37, 18, 3, (1, 1), (2, 2)),    # Winograd, blocks split tile rows
    (1, 16, 4, 4, 16, 3, (1, 1), (0, 0)),      # Winograd, one window per plane
    (5, 4, 36, 36, 40, 5, (1, 1), (2, 2)),     # several images per chunk, 17-wide rows
    (2, 8, 80, 80, 20, 3, (1, 1), (1, 1)),     # one image exceeds a chunk
    (2, 3, 10, 11, 5, 3, (2, 2), (1, 1)),
]


def shape_id(shape):
    n, c, h, w, o, k, stride, padding = shape
    return f"{n}x{c}x{h}x{w}-o{o}-k{k}-s{stride[0]}{stride[1]}-p{padding[0]}{padding[1]}"


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_same_bits_as_the_kernels_one_by_one(shape, setting):
    *sizes, stride, padding = shape
    for bias in (True, False):
        x, weight, b, grad = operands(*sizes, stride, padding, seed=sum(sizes), bias=bias)
        pooled, codes = _C.conv2d_relu_pool_forward(x, weight, b, stride, padding)
        assert codes.dtype == np.uint8 and codes.shape == pooled.shape and codes.max() <= 4
        want_pooled, want_grads = one_by_one(x, weight, b, stride, padding, grad)
        assert_same_bits(pooled, want_pooled)
        grads = _C.conv2d_relu_pool_backward(grad, codes, x, weight, stride, padding, True,
                                             True, True)
        for got, want in zip(grads, want_grads):
            assert_same_bits(got, want)


def test_same_bits_for_any_thread_count():
    x, weight, b, grad = operands(16, 32, 14, 14, 64, 3, (1, 1), (1, 1), seed=5)

    def run():
        pooled, codes = _C.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
        return (pooled, codes) + _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1),
                                                              (1, 1), True, True, True)

    first = with_threads(1, run)
    for threads in (2, 3):
        for got, want in zip(with_threads(threads, run), first):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", ["ties-positive", "ties-negative", "zeros", "nan", "inf"])
def test_special_values_as_the_kernels_one_by_one(case, isa):
    # A zero weight makes every output of a plane its bias: four-way ties, positive or not.
    x, weight, b, grad = operands(2, 16, 6, 8, 16, 3, (1, 1), (1, 1), seed=7)
    if case.startswith("ties"):
        weight[:] = 0
        b[:] = 1.5 if case == "ties-positive" else -0.5
        b[::3] = 0
    elif case == "zeros":
        x[:] = 0
        b[::2] = -0.0
        b[1::2] = 0.0
    elif case == "nan":
        x[0, 3, 2, 2] = np.nan
        x[1, :, 0, 5] = np.nan
    else:
        x[0, 0, 1, :] = np.inf
        x[1, 2, :, 3] = -np.inf
    for chunked in (False, True):  # Winograd's pooling, then the chunked im2col path
        w = weight if not chunked else weight[:, :15].copy()
        xs = x if not chunked else x[:, :15].copy()
        pooled, codes = _C.conv2d_relu_pool_forward(xs, w, b, (1, 1), (1, 1))
        want_pooled, want_grads = one_by_one(xs, w, b, (1, 1), (1, 1), grad)
        assert_same_bits(pooled, want_pooled)
        grads = _C.conv2d_relu_pool_backward(grad, codes, xs, w, (1, 1), (1, 1), True, True,
                                             True)
        for got, want in zip(grads, want_grads):
            assert_same_bits(got, want)
    if case == "ties-negative":
        assert (codes[:, 1::3] == 4).all()
    if case == "ties-positive":
        assert (codes[:, 1::3] == 0).all()


@pytest.mark.parametrize("shape", SHAPES[:8], ids=shape_id)
def test_matches_the_numpy_twin(shape):
    *sizes, stride, padding = shape
    x, weight, b, grad = operands(*sizes, stride, padding, seed=sum(sizes) + 1)
    pooled, codes = cpu.conv2d_relu_pool_forward(x, weight, b, stride, padding)
    want, want_codes = ref.conv2d_relu_pool_forward(f64(x), f64(weight), f64(b), stride, padding)
    # Each pooled value is one convolution output (or 0): conv2d's forward tolerance.
    conv_scale = ref.conv2d_forward(np.abs(f64(x)), np.abs(f64(weight)), np.abs(f64(b)), stride,
                                    padding)
    scale = ref.max_pool2d_forward(conv_scale, *POOL)[0]
    check_close(pooled, want, scale, weight[0].size)
    # The codes agree except where two candidates are within rounding of each other.
    assert np.mean(codes == want_codes) > 0.99
    # Gradients from the same codes: conv2d's backward tolerances.
    grads = cpu.conv2d_relu_pool_backward(grad, codes, x, weight, stride, padding, True, True,
                                          True)
    want_grads = ref.conv2d_relu_pool_backward(f64(grad), codes, f64(x), f64(weight), stride,
                                               padding, True, True, True)
    abs_grads = ref.conv2d_relu_pool_backward(np.abs(f64(grad)), codes, np.abs(f64(x)),
                                              np.abs(f64(weight)), stride, padding, True, True,
                                              True)
    o, _, kh, kw = weight.shape
    out_h, out_w = 2 * grad.shape[2], 2 * grad.shape[3]
    check_close(grads[0], want_grads[0], abs_grads[0], o * kh * kw)
    check_close(grads[1], want_grads[1], abs_grads[1], grad.shape[0] * out_h * out_w)
    check_close(grads[2], want_grads[2], abs_grads[2], grad.shape[0] * out_h * out_w)


def test_twin_is_the_composition_of_the_twins():
    x, weight, b, grad = operands(2, 3, 9, 8, 4, 3, (1, 1), (1, 1), seed=11)
    x, weight, b, grad = f64(x), f64(weight), f64(b), f64(grad)
    pooled, codes = ref.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
    conv = ref.conv2d_forward(x, weight, b, (1, 1), (1, 1))
    want, indices = ref.max_pool2d_forward(ref.relu_forward(conv), *POOL)
    np.testing.assert_array_equal(pooled, want)
    grad_conv = ref.relu_backward(ref.max_pool2d_backward(grad, indices, conv.shape), conv)
    grads = ref.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), (1, 1), True, True,
                                          True)
    np.testing.assert_array_equal(grads[0], ref.conv2d_backward_input(grad_conv, weight, x.shape,
                                                                      (1, 1), (1, 1)))
    np.testing.assert_array_equal(grads[1], ref.conv2d_backward_weight(grad_conv, x,
                                                                       weight.shape, (1, 1),
                                                                       (1, 1)))
    np.testing.assert_array_equal(grads[2], ref.bias_grad(grad_conv, 1))
    assert ref.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), (1, 1), False, False,
                                         False) == (None, None, None)


def test_twin_gradients_match_finite_differences():
    x, weight, b, grad = (f64(a) for a in operands(1, 2, 6, 5, 3, 3, (1, 1), (1, 1), seed=13))

    def loss():
        return float(np.sum(ref.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))[0] * grad))

    _, codes = ref.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
    grads = ref.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), (1, 1), True, True,
                                          True)
    for got, array in zip(grads, (x, weight, b)):
        np.testing.assert_allclose(got, finite_difference(loss, array), rtol=1e-6, atol=1e-8)


def test_only_the_gradients_asked_for():
    x, weight, b, grad = operands(2, 3, 6, 6, 4, 3, (1, 1), (1, 1), seed=2)
    _, codes = _C.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
    full = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), (1, 1), True, True, True)
    for needs in [(True, False, False), (False, True, False), (False, False, True)]:
        got = _C.conv2d_relu_pool_backward(grad, codes, x, weight, (1, 1), (1, 1), *needs)
        for need, array, want in zip(needs, got, full):
            assert (array is None) != need
            if need:
                np.testing.assert_array_equal(array, want)


def test_empty_batch():
    x, weight, b, _ = operands(1, 3, 6, 6, 4, 3, (1, 1), (1, 1))
    x = x[:0]
    pooled, codes = _C.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
    assert pooled.shape == codes.shape == (0, 4, 3, 3)
    grads = _C.conv2d_relu_pool_backward(pooled, codes, x, weight, (1, 1), (1, 1), True, True,
                                         True)
    assert grads[0].shape == x.shape
    np.testing.assert_array_equal(grads[1], np.zeros_like(weight))
    np.testing.assert_array_equal(grads[2], np.zeros(4, np.float32))


def test_binding_refuses_bad_arguments():
    x, weight, b, grad = operands(1, 3, 6, 6, 4, 3, (1, 1), (1, 1))
    _, codes = _C.conv2d_relu_pool_forward(x, weight, b, (1, 1), (1, 1))
    with pytest.raises(ValueError, match="smaller than the 2x2 pool window"):
        _C.conv2d_relu_pool_forward(x[:, :, :3, :3].copy(), weight, b, (1, 1), (0, 0))
    with pytest.raises(TypeError, match="codes must be uint8"):
        _C.conv2d_relu_pool_backward(grad, codes.astype(np.int64), x, weight, (1, 1), (1, 1),
                                     True, True, True)
    with pytest.raises(ValueError, match="codes"):
        _C.conv2d_relu_pool_backward(grad, codes[:, :, :2].copy(), x, weight, (1, 1), (1, 1), True,
                                     True, True)
    with pytest.raises(ValueError, match="grad_output"):
        _C.conv2d_relu_pool_backward(grad[:, :3].copy(), codes, x, weight, (1, 1), (1, 1), True, True,
                                     True)
    with pytest.raises(TypeError, match="float32"):
        _C.conv2d_relu_pool_forward(x.astype(np.float64), weight, b, (1, 1), (1, 1))
