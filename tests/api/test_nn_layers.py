"""cunn.nn layers, containers, losses and DataParallel: constructor checks, repr texts
(PyTorch's), forward against NumPy, gradients through .backward(), error messages.

Tolerances: float32 forward results against float64 NumPy, rtol 1e-5 / atol 1e-5
(sums of at most a few hundred terms of magnitude ~1).
"""
import collections
import math
import warnings

import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F
from cunn import optim

TOL = dict(rtol=1e-5, atol=1e-5)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def to_np(t):
    return np.asarray(t._data, dtype=np.float64)


# ---- package surface ----

def test_package_exports():
    import cunn.nn.functional as functional
    from cunn.nn.parallel import DataParallel

    assert nn.functional is functional and F is functional
    assert nn.DataParallel is DataParallel
    assert nn.init.kaiming_uniform_ is not None
    for name in ("Module", "Parameter", "Linear", "Conv2d", "MaxPool2d", "Flatten", "Dropout",
                 "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity",
                 "Sequential", "ModuleList", "ModuleDict", "CrossEntropyLoss", "NLLLoss",
                 "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "DataParallel"):
        assert name in nn.__all__ and hasattr(nn, name), name
    assert cunn.nn is nn


# ---- Linear ----

def test_linear_parameters_and_repr():
    layer = nn.Linear(784, 128)
    assert layer.weight.shape == (128, 784) and layer.bias.shape == (128,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    assert isinstance(layer.weight, nn.Parameter)
    assert repr(layer) == "Linear(in_features=784, out_features=128, bias=True)"
    plain = nn.Linear(3, 2, bias=False)
    assert plain.bias is None and [n for n, _ in plain.named_parameters()] == ["weight"]
    assert repr(plain) == "Linear(in_features=3, out_features=2, bias=False)"


@pytest.mark.parametrize("args, error", [
    ((0, 3), ValueError), ((3, -1), ValueError), ((3.0, 2), TypeError),
    (("3", 2), TypeError), ((True, 2), TypeError), ((3, 2, "yes"), TypeError)])
def test_linear_constructor_checks(args, error):
    with pytest.raises(error, match="Linear"):
        nn.Linear(*args)


def test_linear_accepts_numpy_integers():
    layer = nn.Linear(np.int64(4), np.int32(2))
    assert layer.weight.shape == (2, 4) and type(layer.in_features) is int


def test_linear_forward_and_backward_against_numpy(backend):
    layer = nn.Linear(7, 5)
    x = rand(6, 7)
    y = layer(cunn.tensor(x))
    w, b = to_np(layer.weight), to_np(layer.bias)
    np.testing.assert_allclose(to_np(y), x @ w.T + b, **TOL)
    gy = rand(6, 5, seed=1)
    y.backward(cunn.tensor(gy))
    np.testing.assert_allclose(to_np(layer.weight.grad), gy.T.astype(np.float64) @ x, **TOL)
    np.testing.assert_allclose(to_np(layer.bias.grad), gy.sum(0), **TOL)


def test_linear_accepts_numpy_input_and_no_bias(backend):
    layer = nn.Linear(3, 2, bias=False)
    x = rand(4, 3)
    np.testing.assert_allclose(to_np(layer(x)), x @ to_np(layer.weight).T, **TOL)


def test_linear_on_one_sample_and_batched_sequences(backend):
    layer = nn.Linear(3, 2)
    x = rand(3)
    assert layer(cunn.tensor(x)).shape == (2,)
    np.testing.assert_allclose(to_np(layer(cunn.tensor(x))),
                               to_np(layer.weight) @ x + to_np(layer.bias), **TOL)


def test_linear_bad_input_names_the_layer_and_suggests_flatten():
    layer = nn.Linear(784, 128)
    with pytest.raises(ValueError) as info:
        layer(cunn.zeros(64, 1, 28, 28))
    message = str(info.value)
    assert "Linear(in_features=784, out_features=128" in message
    assert "(64, 1, 28, 28)" in message
    assert "Flatten" in message and "x.view(x.size(0), -1)" in message
    with pytest.raises(ValueError, match=r"Linear\(in_features=784.*\(64, 100\)"):
        layer(cunn.zeros(64, 100))
    with pytest.raises(ValueError, match="Flatten.*in_features would have to be 300"):
        layer(cunn.zeros(2, 3, 10, 10))


def test_linear_rejects_float64_tensors_naming_float32():
    with pytest.raises(TypeError, match="float32"):
        nn.Linear(2, 2)(cunn.tensor(np.ones((1, 2)), dtype=cunn.float64))


# ---- Conv2d ----

def naive_conv2d(x, w, b, stride, padding):
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride[0] + 1, (wd - kw) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out + (0 if b is None else b[None, :, None, None])


def test_conv2d_parameters_and_repr():
    conv = nn.Conv2d(1, 32, 3, padding=1)
    assert conv.weight.shape == (32, 1, 3, 3) and conv.bias.shape == (32,)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert repr(conv) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.Conv2d(3, 8, (3, 5), stride=(2, 1), bias=False)) == \
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 1), bias=False)"
    assert repr(nn.Conv2d(2, 4, 3, 1, 0)) == "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(2, 4, 3, padding="same")) == \
        "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    assert nn.Conv2d(2, 4, [2, 3]).weight.shape == (4, 2, 2, 3)


@pytest.mark.parametrize("args, kwargs, error", [
    ((0, 4, 3), {}, ValueError), ((1, 4, 0), {}, ValueError), ((1, 4, (3, 3, 3)), {}, TypeError),
    ((1, 4, 3), {"stride": 0}, ValueError), ((1, 4, 3), {"padding": -1}, ValueError),
    ((1, 4, 3), {"padding": "full"}, ValueError), ((1, 4, 3.5), {}, TypeError),
    ((1, 4, 3), {"stride": 2, "padding": "same"}, ValueError),
    ((1, 4, 2), {"padding": "same"}, ValueError),
    ((1, 4, 3), {"dilation": 2}, ValueError), ((1, 4, 3), {"groups": 2}, ValueError),
    ((1, 4, 3), {"padding_mode": "reflect"}, ValueError)])
def test_conv2d_constructor_checks(args, kwargs, error):
    with pytest.raises(error, match="Conv2d"):
        nn.Conv2d(*args, **kwargs)


def test_conv2d_sixth_positional_is_bias_and_says_so():
    with pytest.raises(TypeError, match="dilation by keyword"):
        nn.Conv2d(1, 4, 3, 1, 1, 2)
    assert nn.Conv2d(1, 4, 3, 1, 1, False).bias is None
    assert nn.Conv2d(1, 4, 3, dilation=1, groups=1, padding_mode="zeros").groups == 1


@pytest.mark.parametrize("kernel, stride, padding", [
    (3, 1, 1), ((3, 2), (2, 1), (0, 1)), (1, 1, 0), (5, 2, 2), (3, 1, "same"), (3, 2, "valid")])
def test_conv2d_forward_and_backward_against_numpy(backend, kernel, stride, padding):
    conv = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding)
    x = rand(2, 3, 9, 8)
    y = conv(cunn.tensor(x))
    expected = naive_conv2d(x, to_np(conv.weight), to_np(conv.bias), conv.stride, conv._padding)
    np.testing.assert_allclose(to_np(y), expected, **TOL)
    y.sum().backward()
    assert conv.weight.grad.shape == conv.weight.shape
    np.testing.assert_allclose(to_np(conv.bias.grad), np.full(4, expected[0, 0].size * 2), **TOL)


def test_conv2d_weight_gradient_against_finite_differences():
    # float64 on the NumPy reference: the layer's gradient is the functional one
    with cunn.backend("numpy"):
        conv = nn.Conv2d(2, 3, 3, padding=1)
        weight = np.random.default_rng(3).standard_normal(conv.weight.shape)
        x = np.random.default_rng(4).standard_normal((1, 2, 5, 5))
        w = cunn.tensor(weight, dtype=cunn.float64, requires_grad=True)
        out = F.conv2d(cunn.tensor(x, dtype=cunn.float64), w, None, 1, 1)
        (out * out).sum().backward()

        def loss(values):
            o = naive_conv2d(x, values, None, (1, 1), (1, 1))
            return (o * o).sum()

        numeric = np.zeros_like(weight)
        for index in np.ndindex(weight.shape):
            step = np.zeros_like(weight)
            step[index] = 1e-6
            numeric[index] = (loss(weight + step) - loss(weight - step)) / 2e-6
        np.testing.assert_allclose(w.grad._data, numeric, rtol=1e-5, atol=1e-6)


def test_conv2d_bad_inputs_name_the_layer():
    conv = nn.Conv2d(1, 32, 3, padding=1)
    name = r"Conv2d\(1, 32, kernel_size=\(3, 3\)"
    with pytest.raises(ValueError, match=name + r".*4-D.*\(64, 28, 28\).*unsqueeze\(1\)"):
        conv(cunn.zeros(64, 28, 28))
    with pytest.raises(ValueError, match=name + r".*in_channels=1.*3 channels"):
        conv(cunn.zeros(64, 3, 28, 28))
    with pytest.raises(ValueError, match=r"view\(-1, C, H, W\)"):
        conv(cunn.zeros(64, 784))
    with pytest.raises(ValueError, match="permute"):
        nn.Conv2d(3, 8, 3)(cunn.zeros(2, 28, 28, 3))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*unsqueeze\(0\)"):
        nn.Conv2d(3, 8, 3)(cunn.zeros(3, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d.*2x2.*smaller than the kernel 3x3"):
        nn.Conv2d(1, 1, 3)(cunn.zeros(1, 1, 2, 2))


# ---- MaxPool2d ----

def naive_max_pool(x, kernel, stride, padding):
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2),
               constant_values=-np.inf)
    oh = (x.shape[2] - kernel[0]) // stride[0] + 1
    ow = (x.shape[3] - kernel[1]) // stride[1] + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * stride[0]:i * stride[0] + kernel[0],
                                j * stride[1]:j * stride[1] + kernel[1]].max(axis=(2, 3))
    return out


def test_max_pool2d_repr_and_defaults():
    assert repr(nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool2d((3, 2), stride=(1, 1), padding=1)) == \
        "MaxPool2d(kernel_size=(3, 2), stride=(1, 1), padding=1, dilation=1, ceil_mode=False)"
    assert nn.MaxPool2d(3, 1).stride == 1
    assert list(nn.MaxPool2d(2).parameters()) == []


@pytest.mark.parametrize("args, kwargs, error", [
    ((0,), {}, ValueError), ((2, 0), {}, ValueError), ((2,), {"padding": 2}, ValueError),
    ((2.0,), {}, TypeError), ((2,), {"ceil_mode": True}, ValueError),
    ((2,), {"return_indices": True}, ValueError), ((2,), {"dilation": 2}, ValueError)])
def test_max_pool2d_constructor_checks(args, kwargs, error):
    with pytest.raises(error, match="MaxPool2d"):
        nn.MaxPool2d(*args, **kwargs)


@pytest.mark.parametrize("kernel, stride, padding",
                         [(2, None, 0), (3, 1, 1), ((3, 2), (2, 1), (1, 0))])
def test_max_pool2d_forward_and_backward(backend, kernel, stride, padding):
    pool = nn.MaxPool2d(kernel, stride, padding)
    x = rand(2, 3, 7, 6)
    t = cunn.tensor(x, requires_grad=True)
    y = pool(t)
    k, s, p = pool._pairs
    np.testing.assert_allclose(to_np(y), naive_max_pool(x, k, s, p), **TOL)
    y.sum().backward()
    grad = t.grad._data
    assert grad.shape == x.shape and grad.sum() == pytest.approx(y.numel())


def test_max_pool2d_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2.*4-D.*unsqueeze\(0\)"):
        nn.MaxPool2d(2)(cunn.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=5.*smaller than the kernel"):
        nn.MaxPool2d(5)(cunn.zeros(1, 1, 4, 4))


# ---- Flatten, Identity ----

def test_flatten(backend):
    flatten = nn.Flatten()
    assert repr(flatten) == "Flatten(start_dim=1, end_dim=-1)"
    x = rand(2, 3, 4, 5)
    assert flatten(cunn.tensor(x)).shape == (2, 60)
    np.testing.assert_array_equal(flatten(cunn.tensor(x))._data, x.reshape(2, 60))
    assert nn.Flatten(0)(cunn.tensor(x)).shape == (120,)
    assert nn.Flatten(1, 2)(cunn.tensor(x)).shape == (2, 12, 5)
    assert repr(nn.Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)"
    assert flatten(x).shape == (2, 60)  # NumPy input
    t = cunn.tensor(x, requires_grad=True)
    flatten(t).sum().backward()
    assert t.grad.shape == x.shape
    with pytest.raises(TypeError, match="Flatten"):
        nn.Flatten(1.5)


def test_identity():
    identity = nn.Identity(54, unused="argument")
    t = cunn.zeros(2)
    assert identity(t) is t
    assert repr(identity) == "Identity()"


# ---- Dropout ----

def test_dropout_checks_and_repr():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout(0.2, inplace=True)) == "Dropout(p=0.2, inplace=True)"
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="Dropout"):
            nn.Dropout(p)
    with pytest.raises(TypeError, match="Dropout"):
        nn.Dropout("0.5")


def test_dropout_only_in_training(backend):
    cunn.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = np.ones((200, 500), np.float32)
    y = drop(cunn.tensor(x))._data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    np.testing.assert_array_equal(drop(cunn.tensor(x))._data, x)
    drop.train()
    assert (drop(cunn.tensor(x))._data == 0).any()


def test_dropout_seeded_and_extremes(backend):
    x = cunn.tensor(rand(50, 40))
    cunn.manual_seed(7)
    first = nn.Dropout()(x)._data.copy()
    cunn.manual_seed(7)
    np.testing.assert_array_equal(nn.Dropout()(x)._data, first)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x)._data, x._data)
    assert not nn.Dropout(1.0)(x)._data.any()


def test_dropout_in_a_model_follows_eval(backend):
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5))
    x = cunn.tensor(rand(4, 10))
    model.eval()
    np.testing.assert_array_equal(model(x)._data, model(x)._data)


# ---- activations ----

@pytest.mark.parametrize("layer, reference, text", [
    (nn.ReLU(), lambda x: np.maximum(x, 0), "ReLU()"),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x), "LeakyReLU(negative_slope=0.01)"),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), "LeakyReLU(negative_slope=0.2)"),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x)), "Sigmoid()"),
    (nn.Tanh(), np.tanh, "Tanh()"),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True), "Softmax(dim=1)"),
    (nn.Softmax(0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True), "Softmax(dim=0)"),
    (nn.LogSoftmax(dim=-1), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
     "LogSoftmax(dim=-1)"),
])
def test_activations_against_numpy(backend, layer, reference, text):
    x = rand(5, 6)
    np.testing.assert_allclose(to_np(layer(cunn.tensor(x))), reference(x.astype(np.float64)),
                               **TOL)
    assert repr(layer) == text
    t = cunn.tensor(x, requires_grad=True)
    layer(t).sum().backward()
    assert t.grad.shape == x.shape


def test_activation_reprs_with_inplace():
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU(0.1, inplace=True)) == "LeakyReLU(negative_slope=0.1, inplace=True)"
    assert repr(nn.Softmax()) == "Softmax(dim=None)"
    with pytest.raises(TypeError, match="LeakyReLU"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="Softmax"):
        nn.Softmax(dim=1.0)
    with pytest.raises(TypeError, match="ReLU"):
        nn.ReLU(1)


def test_inplace_relu_gives_the_same_result_and_leaves_the_input():
    x = cunn.tensor(rand(3, 4))
    before = x._data.copy()
    np.testing.assert_array_equal(nn.ReLU(inplace=True)(x)._data, np.maximum(before, 0))
    np.testing.assert_array_equal(x._data, before)


def test_softmax_without_dim_warns_and_uses_pytorchs_legacy_choice():
    x = rand(3, 4)
    with pytest.warns(UserWarning, match="dim"):
        y = nn.Softmax()(cunn.tensor(x))
    np.testing.assert_allclose(y._data.sum(1), 1, rtol=1e-5)
    with pytest.warns(UserWarning):
        y = nn.LogSoftmax()(cunn.tensor(rand(4)))
    np.testing.assert_allclose(np.exp(y._data).sum(), 1, rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(1)(cunn.tensor(x))


# ---- losses ----

def log_softmax(x):
    x = x.astype(np.float64)
    shifted = x - x.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def reduce(values, reduction):
    return {"mean": values.mean(), "sum": values.sum(), "none": values}[reduction]


def sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(np.float64)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_against_numpy(backend, reduction):
    rng = np.random.default_rng(5)
    logits = rand(8, 5)
    labels = rng.integers(0, 5, 8)
    a, b = rand(8, 3, seed=1), rand(8, 3, seed=2)
    probs = rng.uniform(0.05, 0.95, (8, 3)).astype(np.float32)
    targets = rng.integers(0, 2, (8, 3)).astype(np.float32)
    rows = np.arange(8)
    cases = [
        (nn.CrossEntropyLoss, logits, labels, -log_softmax(logits)[rows, labels]),
        (nn.NLLLoss, log_softmax(logits).astype(np.float32), labels,
         -log_softmax(logits)[rows, labels]),
        (nn.MSELoss, a, b, (a.astype(np.float64) - b) ** 2),
        (nn.L1Loss, a, b, np.abs(a.astype(np.float64) - b)),
        (nn.BCELoss, probs, targets,
         -(targets * np.log(probs.astype(np.float64)) + (1 - targets) * np.log(1 - probs))),
        (nn.BCEWithLogitsLoss, a, targets,
         -(targets * np.log(sigmoid(a)) + (1 - targets) * np.log(1 - sigmoid(a)))),
    ]
    for kind, input, target, elementwise in cases:
        loss_fn = kind(reduction=reduction)
        assert loss_fn.reduction == reduction
        assert repr(loss_fn) == kind.__name__ + "()"
        t = cunn.tensor(input, requires_grad=True)
        loss = loss_fn(t, cunn.tensor(target))
        np.testing.assert_allclose(to_np(loss), reduce(elementwise, reduction), rtol=1e-5,
                                   atol=1e-5, err_msg=kind.__name__)
        loss.sum().backward() if reduction == "none" else loss.backward()
        assert t.grad.shape == input.shape


@pytest.mark.parametrize("kind", [nn.CrossEntropyLoss, nn.NLLLoss, nn.MSELoss, nn.L1Loss,
                                  nn.BCELoss, nn.BCEWithLogitsLoss])
def test_loss_reduction_is_checked(kind):
    assert kind().reduction == "mean"
    with pytest.raises(ValueError, match=kind.__name__ + ".*reduction"):
        kind(reduction="avg")
    # The first positional argument is PyTorch's (weight or size_average), not reduction.
    with pytest.raises(ValueError, match="reduction"):
        kind(reduction=None)


def test_cross_entropy_gradient_is_softmax_minus_onehot(backend):
    logits = rand(4, 3)
    labels = np.array([0, 2, 1, 2])
    t = cunn.tensor(logits, requires_grad=True)
    nn.CrossEntropyLoss()(t, cunn.tensor(labels)).backward()
    expected = np.exp(log_softmax(logits))
    expected[np.arange(4), labels] -= 1
    np.testing.assert_allclose(t.grad._data, expected / 4, **TOL)


# ---- containers ----

def test_sequential_indexing_and_forward(backend):
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2] and model[-3] is layers[0]
    with pytest.raises(IndexError, match="out of range"):
        model[3]  # noqa: B018
    with pytest.raises(IndexError):
        model[-4]  # noqa: B018
    with pytest.raises(TypeError, match="integers or slices"):
        model["0"]  # noqa: B018
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    assert list(head._modules) == ["1", "2"]  # PyTorch keeps the names in a slice
    x = rand(5, 4)
    expected = layers[2](layers[1](layers[0](cunn.tensor(x))))
    np.testing.assert_array_equal(model(cunn.tensor(x))._data, expected._data)


def test_sequential_from_ordered_dict_and_editing():
    model = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert model.fc is model[0]
    assert "(fc): Linear" in repr(model)
    seq = nn.Sequential(nn.ReLU())
    assert seq.append(nn.Tanh()) is seq and len(seq) == 2 and isinstance(seq[1], nn.Tanh)
    seq.extend([nn.Sigmoid()])
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    assert list(seq._modules) == ["0", "1", "2", "3"]
    seq[1] = nn.LeakyReLU()
    del seq[0]
    assert [type(m).__name__ for m in seq] == ["LeakyReLU", "Tanh", "Sigmoid"]
    assert list(seq._modules) == ["0", "1", "2"]
    assert isinstance(seq.pop(-1), nn.Sigmoid) and len(seq) == 2
    joined = seq + nn.Sequential(nn.ReLU())
    assert len(joined) == 3 and list(joined._modules) == ["0", "1", "2"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), "relu")


def test_module_list():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    blocks.append(nn.ReLU())
    blocks.extend([nn.Tanh(), nn.Sigmoid()])
    blocks.insert(1, nn.Identity())
    blocks.insert(-1, nn.Dropout())
    names = ["Linear", "Identity", "Linear", "ReLU", "Tanh", "Dropout", "Sigmoid"]
    assert [type(m).__name__ for m in blocks] == names
    assert len(blocks) == 7 and isinstance(blocks[-1], nn.Sigmoid)
    assert list(blocks._modules) == [str(i) for i in range(7)]
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    with pytest.raises(IndexError, match="out of range"):
        blocks[7]  # noqa: B018
    del blocks[1]
    assert list(blocks._modules) == [str(i) for i in range(6)]
    blocks[0] = nn.Linear(2, 5)
    assert blocks[0].out_features == 5
    assert list(nn.Module.state_dict(blocks))[:3] == ["0.weight", "0.bias", "1.weight"]
    with pytest.raises(TypeError, match="iterable"):
        blocks.extend(3)
    with pytest.raises(TypeError, match="not a Module"):
        blocks.append("x")
    blocks += [nn.ReLU()]
    assert len(blocks) == 7


def test_module_dict():
    heads = nn.ModuleDict({"task1": nn.Linear(4, 1), "task2": nn.Linear(4, 2)})
    assert list(heads.keys()) == ["task1", "task2"] and len(heads) == 2
    assert "task1" in heads and "task3" not in heads
    assert list(heads) == ["task1", "task2"]
    assert [type(v).__name__ for v in heads.values()] == ["Linear", "Linear"]
    assert [k for k, _ in heads.items()] == ["task1", "task2"]
    heads["task3"] = nn.Linear(4, 3)
    heads.update([("task4", nn.Identity())])
    heads.update(nn.ModuleDict({"task5": nn.ReLU()}))
    assert list(heads) == ["task1", "task2", "task3", "task4", "task5"]
    assert heads.task1 is heads["task1"]
    assert list(heads.state_dict())[:2] == ["task1.weight", "task1.bias"]
    del heads["task4"]
    assert isinstance(heads.pop("task5"), nn.ReLU) and len(heads) == 3
    with pytest.raises(KeyError):
        heads["missing"]  # noqa: B018
    with pytest.raises(TypeError, match="string"):
        heads[1] = nn.ReLU()
    with pytest.raises(TypeError):
        heads.update(5)
    with pytest.raises(ValueError, match="length"):
        heads.update([("a", nn.ReLU(), 3)])
    heads.clear()
    assert len(heads) == 0


def test_containers_in_a_model_share_parameters_with_the_optimizer(backend):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
            self.heads = nn.ModuleDict({"out": nn.Linear(3, 1)})

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.heads["out"](x)

    net = Net()
    assert len(list(net.parameters())) == 6
    x = cunn.tensor(rand(4, 3))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


# ---- DataParallel ----

def test_data_parallel_is_transparent(backend):
    inner = nn.Linear(3, 2)
    wrapped = nn.DataParallel(inner)
    assert wrapped.module is inner and wrapped.device_ids == []
    x = cunn.tensor(rand(4, 3))
    np.testing.assert_array_equal(wrapped(x)._data, inner(x)._data)
    assert list(wrapped.parameters()) == list(inner.parameters())
    assert list(wrapped.state_dict()) == ["module.weight", "module.bias"]
    assert nn.DataParallel(inner, device_ids=[0], output_device=0).module is inner
    wrapped.eval()
    assert not inner.training
    with pytest.raises(TypeError, match="DataParallel"):
        nn.DataParallel(lambda x: x)


# ---- end to end ----

def test_a_small_mlp_learns(backend):
    cunn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_fn(model(cunn.tensor(x)), cunn.tensor(labels))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    predicted = model(cunn.tensor(x))._data.argmax(1)
    assert (predicted == labels).mean() > 0.9


def test_a_small_cnn_runs_forward_and_backward(backend):
    cunn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    x = cunn.tensor(rand(2, 1, 8, 8))
    loss = nn.CrossEntropyLoss()(model(x), cunn.tensor(np.array([0, 2])))
    loss.backward()
    assert math.isfinite(loss.item())
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_layers_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(2, 3, 3, padding=1)
    theirs = torch.nn.Conv2d(2, 3, 3, padding=1)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight._data.copy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias._data.copy()))
    x = rand(2, 2, 6, 6)
    np.testing.assert_allclose(ours(cunn.tensor(x))._data,
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)
