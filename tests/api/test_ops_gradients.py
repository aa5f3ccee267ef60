"""Every differentiable op: gradients against float64 finite differences on the NumPy
reference, and outputs and gradients of every backend against the reference in float32."""
import numpy as np
import pytest

import cunn
import cunn.nn.functional as F
from api.gradcheck import check_gradients, compare_backends


def _positive(shape, seed):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def _normal(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _labels(batch, classes, seed=3):
    return cunn.tensor(np.random.default_rng(seed).integers(0, classes, batch))


def _fixed_mask_dropout(x):
    cunn.manual_seed(5)
    return F.dropout(x, 0.3, training=True)


def _pool_input(shape, seed):
    # distinct values so the maximum of every window is unique (finite differences
    # are not defined at ties)
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).astype(np.float64)
    return values.reshape(shape) / values.size


OPS = {
    "add broadcast": (lambda a, b: a + b, [_normal((3, 4), 0), _normal((4,), 1)]),
    "sub broadcast": (lambda a, b: a - b, [_normal((3, 1), 0), _normal((1, 5), 1)]),
    "rsub scalar": (lambda a: 2.0 - a, [_normal((3, 2), 0)]),
    "mul broadcast": (lambda a, b: a * b, [_normal((2, 3, 4), 0), _normal((3, 1), 1)]),
    "div": (lambda a, b: a / b, [_normal((3, 4), 0), _positive((3, 4), 1)]),
    "rdiv scalar": (lambda a: 1.0 / a, [_positive((5,), 0)]),
    "pow scalar": (lambda a: a ** 3, [_normal((3, 4), 0)]),
    "pow tensor": (lambda a, b: a ** b, [_positive((3, 4), 0), _normal((3, 4), 1)]),
    "neg": (lambda a: -a, [_normal((7,), 0)]),
    "exp": (lambda a: a.exp(), [_normal((3, 5), 0)]),
    "log": (lambda a: a.log(), [_positive((3, 5), 0)]),
    "sqrt": (lambda a: a.sqrt(), [_positive((3, 5), 0)]),
    "abs": (lambda a: a.abs(), [_positive((3, 5), 0) * np.sign(_normal((3, 5), 1))]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [_normal((4, 6), 0) * 0.9 + 0.013]),
    "matmul 2-D": (lambda a, b: a @ b, [_normal((5, 7), 0), _normal((7, 3), 1)]),
    "matmul vector": (lambda a, b: a @ b, [_normal((5, 7), 0), _normal((7,), 1)]),
    "matmul batched": (lambda a, b: a @ b, [_normal((2, 3, 4), 0), _normal((4, 5), 1)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [_normal((6, 5), 0), _normal((3, 5), 1),
                                                   _normal((3,), 2)]),
    "linear 3-D input": (lambda x, w: F.linear(x, w), [_normal((2, 3, 5), 0),
                                                       _normal((4, 5), 1)]),
    "relu": (lambda a: F.relu(a), [_normal((4, 9), 0) + 0.01]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.2), [_normal((4, 9), 0) + 0.01]),
    "sigmoid": (lambda a: F.sigmoid(a), [_normal((4, 9), 0)]),
    "tanh": (lambda a: F.tanh(a), [_normal((4, 9), 0)]),
    "softmax dim 1": (lambda a: F.softmax(a, 1), [_normal((3, 7), 0)]),
    "softmax dim 0": (lambda a: F.softmax(a, 0), [_normal((3, 7), 0)]),
    "log_softmax": (lambda a: F.log_softmax(a, -1), [_normal((2, 3, 5), 0)]),
    "sum all": (lambda a: a.sum(), [_normal((3, 4), 0)]),
    "sum dims keepdim": (lambda a: a.sum((0, 2), keepdim=True), [_normal((3, 4, 2), 0)]),
    "mean dim": (lambda a: a.mean(1), [_normal((3, 4), 0)]),
    "max dim": (lambda a: a.max(1)[0], [_pool_input((3, 5), 0)]),
    "max all": (lambda a: a.max(), [_pool_input((3, 5), 0)]),
    "min dim keepdim": (lambda a: a.min(0, keepdim=True)[0], [_pool_input((3, 5), 0)]),
    "reshape": (lambda a: a.reshape(-1, 2) * 1.5, [_normal((3, 4), 0)]),
    "flatten": (lambda a: a.flatten(1), [_normal((2, 3, 4), 0)]),
    "transpose": (lambda a: a.transpose(0, 2), [_normal((2, 3, 4), 0)]),
    "T": (lambda a: a.T @ a, [_normal((3, 4), 0)]),
    "permute": (lambda a: a.permute(2, 0, 1), [_normal((2, 3, 4), 0)]),
    "squeeze/unsqueeze": (lambda a: a.unsqueeze(0).squeeze(2), [_normal((3, 1, 4), 0)]),
    "index slice": (lambda a: a[1:, ::2], [_normal((4, 5), 0)]),
    "index repeated ints": (lambda a: a[np.array([0, 2, 0])], [_normal((3, 4), 0)]),
    "index mask": (lambda a: a[a.data > 0], [_normal((3, 4), 0)]),
    "cat": (lambda a, b: cunn.cat([a, b], 1), [_normal((2, 3), 0), _normal((2, 2), 1)]),
    "stack": (lambda a, b: cunn.stack([a, b], 1), [_normal((2, 3), 0), _normal((2, 3), 1)]),
    "clone": (lambda a: a.clone() * a, [_normal((2, 3), 0)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1),
               [_normal((2, 3, 5, 6), 0), _normal((4, 3, 3, 2), 1), _normal((4,), 2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2, padding=1), [_pool_input((2, 3, 5, 4), 0)]),
    "dropout": (_fixed_mask_dropout, [_normal((4, 6), 0)]),
    "cross_entropy mean": (lambda a: F.cross_entropy(a, _labels(5, 4)), [_normal((5, 4), 0)]),
    "cross_entropy sum": (lambda a: F.cross_entropy(a, _labels(5, 4), reduction="sum"),
                          [_normal((5, 4), 0)]),
    "cross_entropy none": (lambda a: F.cross_entropy(a, _labels(5, 4), reduction="none"),
                           [_normal((5, 4), 0)]),
    "nll_loss": (lambda a: F.nll_loss(F.log_softmax(a, 1), _labels(5, 4)),
                 [_normal((5, 4), 0)]),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [_normal((3, 4), 0), _normal((3, 4), 1)]),
    "l1_loss": (lambda a, b: F.l1_loss(a, b, reduction="sum"),
                [_normal((3, 4), 0), _normal((3, 4), 1) + 0.05]),
    "binary_cross_entropy": (lambda a: F.binary_cross_entropy(
        a, cunn.tensor(np.random.default_rng(9).uniform(0, 1, (3, 4)), dtype=a.dtype)),
        [np.random.default_rng(0).uniform(0.1, 0.9, (3, 4))]),
    "binary_cross_entropy_with_logits": (lambda a: F.binary_cross_entropy_with_logits(
        a, cunn.tensor(np.random.default_rng(9).uniform(0, 1, (3, 4)), dtype=a.dtype)),
        [_normal((3, 4), 0)]),
}


@pytest.mark.parametrize("name", list(OPS))
def test_gradient_matches_finite_differences(name):
    function, arrays = OPS[name]
    check_gradients(function, *arrays)


@pytest.mark.parametrize("name", list(OPS))
def test_backends_agree_on_outputs_and_gradients(name):
    function, arrays = OPS[name]
    compare_backends(function, *arrays, rtol=2e-5, atol=2e-5)
