"""User input is checked once, in cunn.nn.functional, whichever public form is used (a
function, a module, a Tensor method), and bad input raises TypeError / ValueError /
IndexError naming the argument, never an AttributeError from deep inside an op."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F
from cunn import _C, optim

X = cunn.ones(2, 3)
IMAGES = cunn.ones(1, 1, 4, 4)
LABELS = cunn.tensor([0, 2])

NONE_CALLS = {
    "F.linear input": (lambda: F.linear(None, cunn.ones(2, 3)), "input"),
    "F.linear weight": (lambda: F.linear(X, None), "weight"),
    "Linear()(None)": (lambda: nn.Linear(3, 2)(None), "input"),
    "F.conv2d input": (lambda: F.conv2d(None, cunn.ones(1, 1, 3, 3)), "input"),
    "F.conv2d weight": (lambda: F.conv2d(IMAGES, None), "weight"),
    "Conv2d()(None)": (lambda: nn.Conv2d(1, 1, 3)(None), "input"),
    "F.max_pool2d": (lambda: F.max_pool2d(None, 2), "input"),
    "MaxPool2d()(None)": (lambda: nn.MaxPool2d(2)(None), "input"),
    "F.relu": (lambda: F.relu(None), "input"),
    "cunn.relu": (lambda: cunn.relu(None), "input"),
    "ReLU()(None)": (lambda: nn.ReLU()(None), "input"),
    "F.leaky_relu": (lambda: F.leaky_relu(None), "input"),
    "F.sigmoid": (lambda: F.sigmoid(None), "input"),
    "F.tanh": (lambda: F.tanh(None), "input"),
    "F.softmax": (lambda: F.softmax(None, 1), "input"),
    "LogSoftmax(1)(None)": (lambda: nn.LogSoftmax(1)(None), "input"),
    "F.dropout": (lambda: F.dropout(None), "input"),
    "F.flatten": (lambda: F.flatten(None), "input"),
    "Flatten()(None)": (lambda: nn.Flatten()(None), "input"),
    "F.cross_entropy input": (lambda: F.cross_entropy(None, LABELS), "input"),
    "F.cross_entropy target": (lambda: F.cross_entropy(X, None), "target"),
    "CrossEntropyLoss target": (lambda: nn.CrossEntropyLoss()(X, None), "target"),
    "F.nll_loss target": (lambda: F.nll_loss(X, None), "target"),
    "F.mse_loss input": (lambda: F.mse_loss(None, X), "input"),
    "MSELoss target": (lambda: nn.MSELoss()(X, None), "target"),
    "F.l1_loss target": (lambda: F.l1_loss(X, None), "target"),
    "F.binary_cross_entropy": (lambda: F.binary_cross_entropy(None, X), "input"),
    "BCEWithLogitsLoss target": (lambda: nn.BCEWithLogitsLoss()(X, None), "target"),
}


@pytest.mark.parametrize("name", NONE_CALLS)
def test_none_as_a_tensor_is_a_type_error_naming_the_argument(name):
    call, argument = NONE_CALLS[name]
    with pytest.raises(TypeError, match=rf"\b{argument} must be a Tensor or a NumPy array, "
                                        "got None"):
        call()


def test_tensor_methods_check_their_input_as_the_functions_do(backend):
    labels = cunn.tensor([1, -2])
    for method, function in [("relu", cunn.relu), ("sigmoid", cunn.sigmoid),
                             ("tanh", cunn.tanh)]:
        with pytest.raises(TypeError, match=f"{method}: input must be float32, got int64"):
            function(labels)
        with pytest.raises(TypeError, match=f"{method}: input must be float32, got int64"):
            getattr(labels, method)()
    with pytest.raises(TypeError, match="softmax: input must be float32"):
        labels.softmax(0)
    with pytest.raises(IndexError, match="log_softmax: dim 2 out of range"):
        X.log_softmax(2)


# ---- the grad setter ----

def test_grad_setter_takes_a_tensor_of_the_same_shape_and_dtype():
    parameter = nn.Parameter(cunn.zeros(2, 3))
    parameter.grad = cunn.ones(2, 3)
    assert parameter.grad.shape == (2, 3)
    parameter.grad = None
    assert parameter.grad is None


@pytest.mark.parametrize("value, error, match", [
    (np.ones((2, 3), np.float32), TypeError, "must be a Tensor or None, got ndarray"),
    ([[1.0] * 3] * 2, TypeError, "must be a Tensor or None, got list"),
    (cunn.ones(3, 2), ValueError, r"has shape \(3, 2\), the tensor has \(2, 3\)"),
    (cunn.ones(2, 3, dtype=cunn.float64), TypeError, "has dtype float64, the tensor has float32"),
])
def test_grad_setter_refuses_what_an_optimizer_step_would_trip_over(value, error, match):
    parameter = nn.Parameter(cunn.zeros(2, 3))
    optimizer = optim.SGD([parameter], lr=0.1)
    with pytest.raises(error, match="grad: assigned grad " + match):
        parameter.grad = value
    assert parameter.grad is None
    optimizer.step()  # nothing was assigned, so the step has nothing to do
    np.testing.assert_array_equal(parameter.numpy(), np.zeros((2, 3), np.float32))


# ---- byte order, huge dims ----

def test_big_endian_labels_give_the_native_result(backend):
    logits = cunn.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    native = np.array([1, 4, 0, 3], dtype=np.int64)
    swapped = native.astype(">i8")
    for loss in (F.cross_entropy, F.nll_loss):
        assert loss(logits, swapped).item() == loss(logits, native).item()


def test_kernels_refuse_a_non_native_byte_order_instead_of_misreading_it():
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="cross_entropy_forward: labels must be int64, got >i8"):
        _C.cross_entropy_forward(logits, np.array([1, 2], dtype=">i8"), "mean")
    with pytest.raises(ValueError, match="byte order"):
        cunn.from_numpy(np.array([1, 2], dtype=">i8"))


@pytest.mark.parametrize("dim", [2**63, -(2**63) - 1, 2**100])
def test_sum_and_max_of_a_dim_beyond_int64_are_index_errors(dim):
    x = np.ones(3, np.float32)
    with pytest.raises(IndexError, match="sum: dim"):
        _C.sum(x, dim)
    with pytest.raises(IndexError, match="sum: dim"):
        _C.sum(x, (0, dim))
    with pytest.raises(IndexError, match="max: dim"):
        _C.max(x, dim)


# ---- the two backends agree on edge cases ----

def test_zero_output_channel_conv_on_both_backends(backend):
    x = cunn.ones(2, 4, 3, 3, requires_grad=True)
    weight = cunn.zeros(0, 4, 3, 3, requires_grad=True)
    bias = cunn.zeros(0, requires_grad=True)
    out = F.conv2d(x, weight, bias, padding=1)
    assert out.shape == (2, 0, 3, 3)
    out.sum().backward()
    assert x.grad.shape == (2, 4, 3, 3) and not x.grad.numpy().any()
    assert weight.grad.shape == (0, 4, 3, 3) and bias.grad.shape == (0,)


def test_relu_keeps_the_sign_of_negative_zero_as_pytorch(backend):
    values = [-1.0, -0.0, 0.0, 2.0, float("nan")]
    got = F.relu(cunn.tensor(values)).numpy()
    expected_sign = [False, True, False, False]  # torch.relu(-0.0) is -0.0
    assert list(np.signbit(got[:4])) == expected_sign and np.isnan(got[4])


def test_relu_sign_of_negative_zero_matches_torch():
    torch = pytest.importorskip("torch")
    values = [-1.0, -0.0, 0.0, 2.0]
    expected = torch.signbit(torch.relu(torch.tensor(values))).tolist()
    for name in ("cpu", "numpy"):
        with cunn.backend(name):
            assert list(np.signbit(F.relu(cunn.tensor(values)).numpy())) == expected
