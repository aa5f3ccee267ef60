"""linear_chain family: the compiled chain against the NumPy reference, and against the
single-layer compiled kernels it composes (bit for bit); the reference's gradients by
finite differences in float64."""
import importlib

import numpy as np
import pytest

from kernels.numeric import finite_difference

cpu = importlib.import_module("cunn._backends.cpu")
ref = importlib.import_module("cunn._backends.numpy_ref")

# (batch, features of x, then each layer's out_features), relu after each layer
CHAINS = [
    ((64, 784, 128, 10), (True, False)),      # the MNIST MLP
    ((64, 784, 128, 64, 10), (True, True, False)),
    ((1, 784, 128, 10), (True, False)),       # batch 1
    ((7, 13, 17, 3), (False, True)),          # odd sizes, ReLU last
    ((5, 9, 33), (True,)),                    # one layer with ReLU
    ((3, 31, 16, 16, 16, 1), (True, False, True, True)),
    ((0, 5, 4, 3), (True, False)),            # empty batch
    ((300, 1000, 257, 10), (True, False)),    # large
]


def make_chain(rng, sizes, with_bias, dtype=np.float32):
    batch, features = sizes[0], sizes[1:]
    x = rng.standard_normal((batch, features[0])).astype(dtype)
    weights = [(rng.standard_normal((out, inp)) / np.sqrt(inp)).astype(dtype)
               for inp, out in zip(features[:-1], features[1:])]
    biases = [rng.standard_normal(w.shape[0]).astype(dtype) if keep else None
              for w, keep in zip(weights, with_bias)]
    return x, weights, biases


def layer_by_layer(backend, x, weights, biases, relus):
    outputs, h = [], x
    for weight, bias, relu in zip(weights, biases, relus):
        h = backend.linear_forward(h, weight, bias)
        if relu:
            h = backend.relu_forward(h)
        outputs.append(h)
    return outputs


def layer_by_layer_backward(backend, grad_output, x, outputs, weights, relus):
    grads_w, grads_b, grad = [None] * len(weights), [None] * len(weights), grad_output
    for i in range(len(weights) - 1, -1, -1):
        if relus[i]:
            grad = backend.relu_backward(grad, outputs[i])
        grad, grads_w[i], grads_b[i] = backend.linear_backward(
            grad, outputs[i - 1] if i > 0 else x, weights[i], True, True, True)
    return grad, grads_w, grads_b


@pytest.mark.parametrize("sizes,relus", CHAINS, ids=lambda v: "x".join(map(str, v))
                         if isinstance(v[0], int) else "-".join("r" if r else "l" for r in v))
def test_chain_is_the_layers_bit_for_bit(setting, sizes, relus):
    rng = np.random.default_rng(len(sizes) * 1000 + sizes[0])
    with_bias = [i % 2 == 0 for i in range(len(relus))]
    x, weights, biases = make_chain(rng, sizes, with_bias)
    output, outputs = cpu.linear_chain_forward(x, weights, biases, list(relus))
    expected = layer_by_layer(cpu, x, weights, biases, relus)
    assert len(outputs) == len(relus) and output is outputs[-1]
    for got, want in zip(outputs, expected):
        np.testing.assert_array_equal(got, want)
    grad_output = rng.standard_normal(output.shape).astype(np.float32)
    grad_x, grad_weights, grad_biases = cpu.linear_chain_backward(
        grad_output, x, outputs, weights, list(relus), True, [True] * len(relus),
        with_bias)
    want_x, want_weights, want_biases = layer_by_layer_backward(
        cpu, grad_output, x, expected, weights, relus)
    np.testing.assert_array_equal(grad_x, want_x)
    for got, want in zip(grad_weights, want_weights):
        np.testing.assert_array_equal(got, want)
    for got, want, keep in zip(grad_biases, want_biases, with_bias):
        if keep:
            np.testing.assert_array_equal(got, want)
        else:
            assert got is None


@pytest.mark.parametrize("sizes,relus", CHAINS[:6], ids=lambda v: "x".join(map(str, v))
                         if isinstance(v[0], int) else "-".join("r" if r else "l" for r in v))
def test_chain_matches_reference(sizes, relus):
    rng = np.random.default_rng(sum(sizes))
    x, weights, biases = make_chain(rng, sizes, [True] * len(relus))
    output, outputs = cpu.linear_chain_forward(x, weights, biases, list(relus))
    ref_output, ref_outputs = ref.linear_chain_forward(
        x.astype(np.float64), [w.astype(np.float64) for w in weights],
        [b.astype(np.float64) for b in biases], list(relus))
    # Each layer adds at most a K-term dot product's rounding to what it was given.
    np.testing.assert_allclose(output, ref_output, rtol=1e-4, atol=1e-4)
    grad_output = rng.standard_normal(output.shape).astype(np.float32)
    # ReLU masks must agree for the gradients to be comparable: use the compiled outputs.
    got = cpu.linear_chain_backward(grad_output, x, outputs, weights, list(relus), True,
                                    [True] * len(relus), [True] * len(relus))
    want = ref.linear_chain_backward(grad_output.astype(np.float64), x.astype(np.float64),
                                     [o.astype(np.float64) for o in outputs],
                                     [w.astype(np.float64) for w in weights], list(relus),
                                     True, [True] * len(relus), [True] * len(relus))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)
    for a, b in zip(got[1] + got[2], want[1] + want[2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_only_what_is_asked_for_is_computed():
    rng = np.random.default_rng(3)
    x, weights, biases = make_chain(rng, (4, 6, 5, 3), [True, False])
    _, outputs = cpu.linear_chain_forward(x, weights, biases, [True, False])
    grad_output = np.ones((4, 3), np.float32)
    for backend in (cpu, ref):
        grad_x, grad_weights, grad_biases = backend.linear_chain_backward(
            grad_output, x, outputs, weights, [True, False], False, [False, True],
            [True, False])
        assert grad_x is None
        assert grad_weights[0] is None and grad_weights[1].shape == (3, 5)
        assert grad_biases[0].shape == (5,) and grad_biases[1] is None


def test_reference_gradients_by_finite_differences():
    rng = np.random.default_rng(4)
    relus = [True, True, False]
    x, weights, biases = make_chain(rng, (3, 4, 5, 4, 2), [True, True, True], np.float64)
    # Keep pre-activations away from 0, where ReLU has no derivative.
    for bias in biases:
        bias += np.sign(bias) * 0.3
    grad_output = rng.standard_normal((3, 2))

    def loss():
        output, _ = ref.linear_chain_forward(x, weights, biases, relus)
        return float(np.sum(output * grad_output))

    _, outputs = ref.linear_chain_forward(x, weights, biases, relus)
    grad_x, grad_weights, grad_biases = ref.linear_chain_backward(
        grad_output, x, outputs, weights, relus, True, [True] * 3, [True] * 3)
    np.testing.assert_allclose(grad_x, finite_difference(loss, x), rtol=1e-6, atol=1e-8)
    for weight, grad in zip(weights, grad_weights):
        np.testing.assert_allclose(grad, finite_difference(loss, weight), rtol=1e-6, atol=1e-8)
    for bias, grad in zip(biases, grad_biases):
        np.testing.assert_allclose(grad, finite_difference(loss, bias), rtol=1e-6, atol=1e-8)


def test_forward_refusals():
    x = np.ones((2, 4), np.float32)
    w1, w2 = np.ones((3, 4), np.float32), np.ones((5, 3), np.float32)
    for backend, prefix in ((cpu, "linear_chain_forward: "), (ref, "linear_chain_forward: ")):
        with pytest.raises(ValueError, match=prefix + "weights must not be empty"):
            backend.linear_chain_forward(x, [], [], [])
        with pytest.raises(ValueError, match=prefix):
            backend.linear_chain_forward(x, [w1, w2], [None], [True, False])
    with pytest.raises(ValueError, match=r"linear_chain_forward: weights\[1\] must be "
                                         r"\(out_features, 3\) to take the previous layer's "
                                         r"output, got \(5, 4\)"):
        cpu.linear_chain_forward(x, [w1, np.ones((5, 4), np.float32)], [None, None],
                                 [True, False])
    with pytest.raises(ValueError, match=r"linear_chain_forward: weights\[0\] must be "
                                         r"\(out_features, 4\)"):
        cpu.linear_chain_forward(x, [np.ones((3, 5), np.float32)], [None], [False])
    with pytest.raises(TypeError, match=r"linear_chain_forward: weights\[1\] must be float32"):
        cpu.linear_chain_forward(x, [w1, w2.astype(np.float64)], [None, None], [True, False])
    with pytest.raises(ValueError, match=r"linear_chain_forward: biases\[0\] must have shape "
                                         r"\(3,\)"):
        cpu.linear_chain_forward(x, [w1], [np.ones(4, np.float32)], [False])
    with pytest.raises(TypeError, match=r"linear_chain_forward: weights\[0\] must be a "
                                        r"numpy.ndarray, got list"):
        cpu.linear_chain_forward(x, [[[1.0] * 4] * 3], [None], [False])
    with pytest.raises(ValueError, match="linear_chain_forward: x must be 2-D"):
        cpu.linear_chain_forward(np.ones(4, np.float32), [w1], [None], [False])


def test_backward_refusals():
    rng = np.random.default_rng(5)
    x, weights, biases = make_chain(rng, (2, 4, 3, 5), [True, True])
    _, outputs = cpu.linear_chain_forward(x, weights, biases, [True, False])
    grad_output = np.ones((2, 5), np.float32)
    with pytest.raises(ValueError, match=r"linear_chain_backward: grad_output must have shape "
                                         r"\(2, 5\)"):
        cpu.linear_chain_backward(grad_output[:, :4], x, outputs, weights, [True, False], True,
                                  [True, True], [True, True])
    with pytest.raises(ValueError, match=r"linear_chain_backward: outputs\[0\] must have shape "
                                         r"\(2, 3\)"):
        cpu.linear_chain_backward(grad_output, x, [outputs[1], outputs[1]], weights,
                                  [True, False], True, [True, True], [True, True])
    with pytest.raises(ValueError, match="linear_chain_backward: outputs, need_weights and "
                                         "need_biases must have one entry per layer"):
        cpu.linear_chain_backward(grad_output, x, outputs[:1], weights, [True, False], True,
                                  [True, True], [True, True])
    with pytest.raises(ValueError, match="linear_chain_backward: outputs must have one entry "
                                         "per layer"):
        ref.linear_chain_backward(grad_output, x, outputs[:1], weights, [True, False], True,
                                  [True, True], [True, True])


def test_forward_outputs_start_on_a_cache_line():
    """The threads write each output in column ranges; a line shared by two ranges would
    bounce between the cores on every row (bind_linear_chain.cpp)."""
    rng = np.random.default_rng(11)
    x, weights, biases = make_chain(rng, (64, 784, 128, 10), [True, True])
    for _ in range(8):  # several allocations: one lucky 16-byte address cannot pass alone
        output, outputs = cpu.linear_chain_forward(x, weights, biases, [True, False])
        for array in outputs:
            assert array.ctypes.data % 64 == 0
            assert array.flags.c_contiguous and array.flags.writeable
        np.testing.assert_array_equal(output, layer_by_layer(cpu, x, weights, biases,
                                                             (True, False))[-1])
