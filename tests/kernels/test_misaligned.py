"""Misaligned arrays at the binding boundary (np.frombuffer at an odd offset).

Kernels read floats and int64s with their natural alignment, so a misaligned input is
copied by the binding (bindings/validate.h, aligned_input) and a misaligned output or
in-place argument is refused with a ValueError, never silently copied. Every binding
family is called with every input array misaligned; the results must equal the aligned
call's bit for bit (the kernel sees the same values) and the NumPy reference's within
rtol 1e-4, atol 1e-5 (sums of a few float32 terms). Under the sanitizer build
(tools/sanitize.sh) these calls are also where UBSan would report a misaligned load.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")


def misaligned(array):
    """A writable copy of `array` whose data starts one byte past an aligned address."""
    array = np.asarray(array)
    buffer = bytearray(array.nbytes + 64)
    start = (-np.frombuffer(buffer, np.uint8).ctypes.data) % 64 + 1
    copy = np.frombuffer(buffer, dtype=array.dtype, count=array.size,
                         offset=start).reshape(array.shape)
    copy[...] = array
    assert not copy.flags.aligned or array.dtype.itemsize == 1
    return copy


def floats(rng, *shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def cases():
    """(name, call, arrays): call(backend, *arrays) on arrays that the test misaligns."""
    rng = np.random.default_rng(14)
    x = floats(rng, 5, 7)
    y = floats(rng, 5, 7)
    probabilities = floats(rng, 5, 7, low=0.05, high=0.95)
    labels = rng.integers(0, 7, 5).astype(np.int64)
    images = floats(rng, 2, 3, 6, 5)
    weight = floats(rng, 4, 3, 3, 2)
    conv_out = ref.conv2d_forward(images, weight, None, (1, 1), (1, 0))
    pooled, indices = ref.max_pool2d_forward(images, (2, 2), (2, 2), (1, 0))
    log_probs = ref.log_softmax_forward(x, 1)
    mask = rng.random((5, 7)) < 0.5
    scalar = np.float32(0.5)
    yield "relu", lambda b, x: b.relu_forward(x), (x,)
    yield "relu_backward", lambda b, g, x: b.relu_backward(g, x), (y, x)
    yield "leaky_relu", lambda b, x: b.leaky_relu_forward(x, 0.1), (x,)
    yield "leaky_relu_backward", lambda b, g, x: b.leaky_relu_backward(g, x, 0.1), (y, x)
    yield "sigmoid", lambda b, x: b.sigmoid_forward(x), (x,)
    yield "sigmoid_backward", lambda b, g, o: b.sigmoid_backward(g, o), (y, probabilities)
    yield "tanh", lambda b, x: b.tanh_forward(x), (x,)
    yield "tanh_backward", lambda b, g, o: b.tanh_backward(g, o), (y, probabilities)
    yield "softmax", lambda b, x: b.softmax_forward(x, 1), (x,)
    yield "softmax_backward", lambda b, g, o: b.softmax_backward(g, o, 0), (y, probabilities)
    yield "log_softmax", lambda b, x: b.log_softmax_forward(x, 0), (x,)
    yield "log_softmax_backward", lambda b, g, o: b.log_softmax_backward(g, o, 1), (y, log_probs)
    yield "add", lambda b, p, q: b.add(p, q), (x, y)
    yield "sub", lambda b, p, q: b.sub(p, q), (x, y[0])
    yield "mul", lambda b, p, q: b.mul(p, q), (x, y)
    yield "div", lambda b, p, q: b.div(p, q), (x, probabilities)
    yield "mul_scalar", lambda b, p, q: b.mul(p, q), (x, scalar)
    yield "sum", lambda b, x: b.sum(x, (1,)), (images,)
    yield "max", lambda b, x: b.max(x, 1), (x,)
    yield "dropout", lambda b, x, m: b.dropout_forward(x, m, 2.0), (x, mask)
    yield "dropout_backward", lambda b, g, m: b.dropout_backward(g, m, 2.0), (y, mask)
    yield "gemm", lambda b, p, q: b.gemm(p, q, False, True), (x, y)
    yield "linear", lambda b, x, w, bias: b.linear_forward(x, w, bias), (x, y[:3], y[3, :3])
    yield "linear_backward", (lambda b, g, x, w: b.linear_backward(g, x, w, True, True, True)), (
        y[:, :3], x, y[:3])
    yield "bias_grad", lambda b, g: b.bias_grad(g, 1), (images,)
    yield "linear_chain", (lambda b, x, w1, b1, w2: b.linear_chain_forward(
        x, [w1, w2], [b1, None], [True, False])), (x, y[:4], y[4, :4], y[:3, :4].copy())
    yield "conv2d", (lambda b, x, w, bias: b.conv2d_forward(x, w, bias, (1, 1), (1, 0))), (
        images, weight, y[0, :4])
    yield "conv2d_backward_input", (lambda b, g, w: b.conv2d_backward_input(
        g, w, images.shape, (1, 1), (1, 0))), (conv_out, weight)
    yield "conv2d_backward_weight", (lambda b, g, x: b.conv2d_backward_weight(
        g, x, weight.shape, (1, 1), (1, 0))), (conv_out, images)
    yield "max_pool2d", lambda b, x: b.max_pool2d_forward(x, (2, 2), (2, 2), (1, 0)), (images,)
    yield "max_pool2d_backward", (lambda b, g, i: b.max_pool2d_backward(g, i, images.shape)), (
        pooled, indices)
    yield "cross_entropy", lambda b, s, t: b.cross_entropy_forward(s, t, "mean"), (x, labels)
    yield "cross_entropy_backward", (lambda b, g, s, t: b.cross_entropy_backward(
        g, s, t, "none")), (y[0, :5], log_probs, labels)
    yield "nll_loss", lambda b, s, t: b.nll_loss_forward(s, t, "sum"), (log_probs, labels)
    yield "nll_loss_backward", (lambda b, g, t: b.nll_loss_backward(g, t, 7, "none")), (
        y[0, :5], labels)
    for loss in ("mse_loss", "l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits"):
        forward, backward = loss + "_forward", loss + "_backward"
        yield loss, (lambda b, p, t, name=forward: getattr(b, name)(p, t, "none")), (
            probabilities, y * 0.2 + 0.5)
        yield backward, (lambda b, g, p, t, name=backward: getattr(b, name)(g, p, t, "mean")), (
            np.array(0.5, np.float32), probabilities, y * 0.2 + 0.5)
    # The families added with issue 16: normalisation, average pooling, smooth activations,
    # embedding, channel dropout, and the loss options.
    channel = floats(rng, 3, low=0.5, high=1.5)
    mean, var = ref.batch_norm_statistics(images)
    normalised, invstd = ref.batch_norm_forward(images, mean, var, channel, channel, 1e-5)
    yield "batch_norm_statistics", lambda b, x: b.batch_norm_statistics(x), (images,)
    yield "batch_norm_forward", (lambda b, x, m, v, w: b.batch_norm_forward(
        x, m, v, w, w, 1e-5)), (images, mean, var, channel)
    yield "batch_norm_backward", (lambda b, g, x, m, i, w: b.batch_norm_backward(
        g, x, m, i, w, True)), (normalised, images, mean, invstd, channel)
    row = floats(rng, 7)
    layer_out, layer_mean, layer_invstd = ref.layer_norm_forward(x, (7,), row, row, 1e-5)
    yield "layer_norm_forward", (lambda b, x, w: b.layer_norm_forward(x, (7,), w, w, 1e-5)), (
        x, row)
    yield "layer_norm_backward", (lambda b, g, x, m, i, w: b.layer_norm_backward(
        g, x, m, i, w, (7,))), (y, x, layer_mean, layer_invstd, row)
    averaged = ref.avg_pool2d_forward(images, (2, 2), (2, 2), (1, 0))
    yield "avg_pool2d", (lambda b, x: b.avg_pool2d_forward(x, (2, 2), (2, 2), (1, 0))), (images,)
    yield "avg_pool2d_backward", (lambda b, g: b.avg_pool2d_backward(
        g, images.shape, (2, 2), (2, 2), (1, 0))), (averaged,)
    yield "adaptive_avg_pool2d", (lambda b, x: b.adaptive_avg_pool2d_forward(x, (4, 3))), (
        images,)
    yield "adaptive_avg_pool2d_backward", (lambda b, g: b.adaptive_avg_pool2d_backward(
        g, images.shape)), (floats(rng, 2, 3, 4, 3),)
    for name, options in (("gelu", ("tanh",)), ("elu", (0.7,)), ("silu", ()),
                          ("softplus", (2.0, 3.0))):
        yield name, (lambda b, x, name=name, options=options: getattr(b, name + "_forward")(
            x, *options)), (x,)
        yield name + "_backward", (lambda b, g, x, name=name, options=options: getattr(
            b, name + "_backward")(g, x, *options)), (y, x)
    table = floats(rng, 6, 5)
    tokens = rng.integers(0, 6, (3, 4)).astype(np.int64)
    yield "embedding", lambda b, w, i: b.embedding_forward(w, i), (table, tokens)
    yield "embedding_backward", (lambda b, g, i: b.embedding_backward(g, i, 6)), (
        floats(rng, 3, 4, 5), tokens)
    channel_mask = rng.random((2, 3)) < 0.5
    yield "dropout2d", lambda b, x, m: b.dropout2d_forward(x, m, 2.0), (images, channel_mask)
    yield "dropout2d_backward", (lambda b, g, m: b.dropout2d_backward(g, m, 2.0)), (
        images, channel_mask)
    class_weight = floats(rng, 7, low=0.1, high=2.0)
    yield "cross_entropy_weighted", (lambda b, s, t, w: b.cross_entropy_forward(
        s, t, "mean", w, -100, 0.1)), (x, labels, class_weight)
    yield "nll_loss_weighted", (lambda b, s, t, w: b.nll_loss_forward(s, t, "mean", w)), (
        log_probs, labels, class_weight)
    pixels = rng.integers(0, 256, (6, 4, 5)).astype(np.uint8)
    yield "normalize_images", (lambda b, im, i: b.normalize_images(im, i, 0.25, 0.5)), (
        pixels, np.array([5, 0, 3], np.int64))


CASES = {name: (call, arrays) for name, call, arrays in cases()}


def flatten(result):
    if isinstance(result, (tuple, list)):
        return [part for item in result for part in flatten(item)]
    return [] if result is None else [np.asarray(result)]


@pytest.mark.parametrize("name", CASES)
def test_misaligned_inputs_are_read_correctly(name):
    call, arrays = CASES[name]
    shifted = [misaligned(array) if isinstance(array, np.ndarray) else array for array in arrays]
    got = flatten(call(cpu, *shifted))
    aligned = flatten(call(cpu, *arrays))
    want = flatten(call(ref, *arrays))
    assert len(got) == len(aligned) == len(want)
    for g, a, w in zip(got, aligned, want):
        assert g.dtype == a.dtype and g.shape == a.shape
        np.testing.assert_array_equal(g.reshape(-1).view(np.uint8), a.reshape(-1).view(np.uint8))
        np.testing.assert_allclose(g, w.astype(g.dtype), rtol=1e-4, atol=1e-5)


def test_misaligned_list_items_are_read_correctly():
    # Optimizer gradients and linear-chain arrays arrive inside lists.
    rng = np.random.default_rng(3)
    params = [floats(rng, 6, 5), floats(rng, 9)]
    grads = [floats(rng, 6, 5), floats(rng, 9)]
    exp_avgs = [floats(rng, 6, 5), floats(rng, 9)]
    exp_avg_sqs = [floats(rng, 6, 5, low=0.0), floats(rng, 9, low=0.0)]
    results = []
    for gradients in (grads, [misaligned(g) for g in grads]):
        p, m, v = ([a.copy() for a in arrays] for arrays in (params, exp_avgs, exp_avg_sqs))
        cpu.adam_step_(p, gradients, m, v, 1e-2, 0.9, 0.999, 1e-8, 0.01, 3, True)
        results.append(p + m + v)
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    x, w, bias = floats(rng, 4, 6), floats(rng, 3, 6), floats(rng, 3)
    want = cpu.linear_chain_forward(x, [w], [bias], [True])
    got = cpu.linear_chain_forward(x, [misaligned(w)], [misaligned(bias)], [True])
    for g, a in zip(flatten(got), flatten(want)):
        np.testing.assert_array_equal(g, a)


def test_elementwise_input_with_strides_off_the_item_size_is_copied():
    # A view whose strides are not whole float32 items cannot be read in place; as an
    # input it is copied like any misaligned array (it used to be refused).
    rng = np.random.default_rng(5)
    values = floats(rng, 4, 3)
    buffer = bytearray(4 * 3 * 6)
    view = np.ndarray((4, 3), np.float32, buffer, offset=0, strides=(18, 6))
    view[...] = values
    np.testing.assert_array_equal(_C.add(view, values), values + values)


def test_misaligned_outputs_and_in_place_arguments_are_refused():
    rng = np.random.default_rng(7)
    a, b = floats(rng, 3, 4), floats(rng, 4, 2)
    out = misaligned(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"gemm: out must be aligned"):
        _C.gemm(a, b, out=out)
    assert not out.any()
    param, grad = misaligned(floats(rng, 5)), floats(rng, 5)
    before = param.copy()
    with pytest.raises(ValueError, match=r"sgd_step_: params\[0\] must be aligned"):
        _C.sgd_step_([param], [grad], [], 0.1, 0.0, 0.0, 0.0, False, True)
    np.testing.assert_array_equal(param, before)
    param = floats(rng, 5)
    state = misaligned(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"adam_step_: exp_avgs\[0\] must be aligned"):
        _C.adam_step_([param], [grad], [state], [np.zeros(5, np.float32)], 1e-3, 0.9, 0.999,
                      1e-8, 0.0, 1, False)
