"""cunn.nn.init and the layers' default initialisation: PyTorch's formulas, bounds, and
sample statistics.

Statistical tolerances: with n = 10**6 samples the mean's standard error is
sigma / 1000, so means are checked to 6 standard errors; standard deviations to 1 %
(their relative standard error here is below 0.1 %). Everything runs under a fixed
seed, so the checks are deterministic.
"""
import math
import warnings

import numpy as np
import pytest

import cunn
import cunn.nn as nn
from cunn.nn import init

N = 1000  # big tensors are N x N


@pytest.fixture(autouse=True)
def seeded():
    cunn.manual_seed(1234)


def big(*shape):
    return nn.Parameter(np.zeros(shape or (N, N), np.float32))


def check_stats(array, mean, std):
    values = np.asarray(array, dtype=np.float64)
    assert abs(values.mean() - mean) < 6 * std / math.sqrt(values.size)
    assert values.std() == pytest.approx(std, rel=0.01)


# ---- gains and fans ----

def test_calculate_gain_matches_pytorch():
    assert init.calculate_gain("linear") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


def test_fans_follow_pytorch():
    assert init._calculate_fan_in_and_fan_out(cunn.zeros(5, 7)) == (7, 5)
    assert init._calculate_fan_in_and_fan_out(cunn.zeros(8, 3, 5, 2)) == (30, 80)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cunn.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(cunn.zeros(3, 3), mode="fan_avg")


# ---- simple fills ----

def test_constant_ones_zeros_and_eye_work_in_place():
    p = nn.Parameter(np.full((3, 4), 9.0, np.float32))
    array = p._data
    assert init.zeros_(p) is p and p._data is array and not array.any()
    assert init.ones_(p) is p and (array == 1).all()
    assert init.constant_(p, 0.25) is p and (array == 0.25).all()
    assert init.eye_(p) is p
    np.testing.assert_array_equal(array, np.eye(3, 4))
    with pytest.raises(ValueError, match="2-D"):
        init.eye_(cunn.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="number"):
        init.constant_(p, "1")


def test_init_accepts_numpy_arrays_and_rejects_other_things():
    array = np.zeros((4, 4), np.float32)
    assert init.normal_(array) is array and array.any()
    with pytest.raises(TypeError, match="Tensor"):
        init.zeros_([1, 2])
    with pytest.raises(TypeError, match="floating"):
        init.uniform_(cunn.tensor([1, 2]))


# ---- random fills ----

def test_uniform_bounds_and_statistics():
    p = big()
    assert init.uniform_(p, -2.0, 3.0) is p
    assert p._data.min() >= -2.0 and p._data.max() <= 3.0
    check_stats(p._data, 0.5, 5 / math.sqrt(12))
    check_stats(init.uniform_(big())._data, 0.5, 1 / math.sqrt(12))
    with pytest.raises(ValueError, match="a must be <= b"):
        init.uniform_(p, 1, 0)


def test_normal_statistics():
    p = init.normal_(big(), mean=1.5, std=0.2)
    check_stats(p._data, 1.5, 0.2)
    check_stats(init.normal_(big())._data, 0.0, 1.0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(big(2, 2), std=-1)


def test_trunc_normal_bounds_and_statistics():
    p = init.trunc_normal_(big(), mean=0.0, std=1.0, a=-2.0, b=2.0)
    assert p._data.min() >= -2.0 and p._data.max() <= 2.0
    # the standard normal truncated to [-2, 2] has std 0.8796
    check_stats(p._data, 0.0, 0.879626)
    q = init.trunc_normal_(big(), mean=1.0, std=0.5, a=0.0, b=10.0)
    assert q._data.min() >= 0.0


def test_erfinv_approximation():
    y = np.linspace(-0.999999, 0.999999, 2001)
    x = init._erfinv(y)
    np.testing.assert_allclose([math.erf(v) for v in x], y, rtol=0, atol=2e-7)


def test_xavier_uniform_and_normal():
    shape = (N, 500)  # fan_in 500, fan_out 1000
    bound = math.sqrt(6 / 1500)
    p = init.xavier_uniform_(big(*shape))
    assert np.abs(p._data).max() <= bound
    check_stats(p._data, 0.0, bound / math.sqrt(3))
    p = init.xavier_uniform_(big(*shape), gain=init.calculate_gain("tanh"))
    assert np.abs(p._data).max() <= 5 / 3 * bound
    check_stats(init.xavier_normal_(big(*shape))._data, 0.0, math.sqrt(2 / 1500))
    check_stats(init.xavier_normal_(big(*shape), gain=2.0)._data, 0.0, 2 * math.sqrt(2 / 1500))


def test_kaiming_uniform_and_normal():
    shape = (500, N)  # fan_in 1000, fan_out 500
    p = init.kaiming_uniform_(big(*shape), nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 1000)
    assert np.abs(p._data).max() <= bound
    check_stats(p._data, 0.0, bound / math.sqrt(3))
    p = init.kaiming_uniform_(big(*shape), mode="fan_out", nonlinearity="relu")
    check_stats(p._data, 0.0, math.sqrt(2 / 500))
    check_stats(init.kaiming_normal_(big(*shape), nonlinearity="relu")._data, 0.0,
                math.sqrt(2 / 1000))
    check_stats(init.kaiming_normal_(big(*shape), a=0.1, mode="fan_out")._data, 0.0,
                math.sqrt(2 / 1.01) / math.sqrt(500))


def test_kaiming_uniform_with_a_sqrt5_is_uniform_one_over_sqrt_fan_in():
    p = init.kaiming_uniform_(big(100, 50, 2, 10), a=math.sqrt(5))  # fan_in 1000
    bound = 1 / math.sqrt(1000)
    assert np.abs(p._data).max() <= bound
    check_stats(p._data, 0.0, bound / math.sqrt(3))


def test_orthogonal():
    p = init.orthogonal_(big(30, 50))
    q = p._data.astype(np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(30), atol=1e-5)
    p = init.orthogonal_(big(40, 4, 2, 2), gain=2.0)
    flat = p._data.reshape(40, 16).astype(np.float64)
    np.testing.assert_allclose(flat.T @ flat, 4 * np.eye(16), atol=1e-4)


def test_init_records_no_autograd_and_keeps_requires_grad():
    p = nn.Parameter(np.zeros((4, 4), np.float32))
    for fill in (init.normal_, init.uniform_, init.xavier_uniform_, init.kaiming_normal_,
                 init.zeros_):
        assert fill(p) is p
        assert p.requires_grad and p.grad_fn is None and p.grad is None
    with cunn.no_grad():
        init.ones_(p)
    assert (p._data == 1).all()


def test_seeding_reproduces_draws():
    cunn.manual_seed(5)
    first = init.normal_(big(10, 10))._data.copy()
    cunn.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(big(10, 10))._data, first)
    cunn.manual_seed(5)
    a = nn.Linear(20, 10)
    cunn.manual_seed(5)
    b = nn.Linear(20, 10)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    np.testing.assert_array_equal(a.bias._data, b.bias._data)


def test_zero_element_tensors_warn_and_are_left_alone():
    empty = cunn.zeros(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(empty) is empty
    with pytest.warns(UserWarning, match="zero-element"):
        init.xavier_normal_(empty)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.normal_(empty)


def test_float64_tensors_are_filled_in_their_precision():
    t = cunn.tensor(np.zeros((N, N)), dtype=cunn.float64)
    init.uniform_(t, -1, 1)
    assert t.dtype == np.float64 and np.abs(t._data).max() <= 1
    check_stats(t._data, 0.0, 1 / math.sqrt(3))


# ---- default layer initialisation (PyTorch's) ----

def test_linear_default_init():
    layer = nn.Linear(1000, 1000)
    bound = 1 / math.sqrt(1000)
    for p in (layer.weight, layer.bias):
        assert np.abs(p._data).max() <= bound
    assert np.abs(layer.weight._data).max() > 0.99 * bound
    check_stats(layer.weight._data, 0.0, bound / math.sqrt(3))
    bias = np.concatenate([nn.Linear(1000, 1000).bias._data for _ in range(20)])
    check_stats(bias, 0.0, bound / math.sqrt(3))


def test_conv2d_default_init():
    conv = nn.Conv2d(16, 1000, (5, 3))  # fan_in 16 * 15 = 240
    bound = 1 / math.sqrt(240)
    assert np.abs(conv.weight._data).max() <= bound
    assert np.abs(conv.bias._data).max() <= bound
    check_stats(conv.weight._data, 0.0, bound / math.sqrt(3))


def test_reset_parameters_redraws_in_place():
    layer = nn.Linear(8, 4)
    weight, before = layer.weight._data, layer.weight._data.copy()
    layer.reset_parameters()
    assert layer.weight._data is weight and not np.array_equal(weight, before)


def test_default_init_bounds_match_torch_when_installed():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(16, 8, 3)
    ours = nn.Conv2d(16, 8, 3)
    bound = 1 / math.sqrt(16 * 9)
    assert theirs.weight.abs().max().item() <= bound
    assert np.abs(ours.weight._data).max() <= bound
    assert torch.nn.init.calculate_gain("leaky_relu", 0.3) == \
        pytest.approx(init.calculate_gain("leaky_relu", 0.3))
