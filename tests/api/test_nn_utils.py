"""cunn.nn.utils against torch.nn.utils: gradient clipping by norm (2, 1, inf, other p)
and by value, and flattening parameters to one vector and back."""
import math

import numpy as np
import pytest

import cunn
import cunn.nn as nn
from cunn.nn import utils

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the oracle) is not installed")

SHAPES = [(5, 7), (13,), (1,), (3, 1, 2)]


def pairs(seed=0, scale=1.0, with_none=False):
    """The same parameters and gradients in cunn and torch."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for index, shape in enumerate(SHAPES):
        value = rng.standard_normal(shape).astype(np.float32)
        grad = (scale * rng.standard_normal(shape)).astype(np.float32)
        mine = nn.Parameter(cunn.tensor(value))
        reference = None if torch is None else torch.nn.Parameter(torch.from_numpy(value.copy()))
        if not (with_none and index == 1):
            mine.grad = cunn.tensor(grad.copy())
            if torch is not None:
                reference.grad = torch.from_numpy(grad.copy())
        ours.append(mine)
        theirs.append(reference)
    return ours, theirs


@needs_torch
@pytest.mark.parametrize("norm_type", [2, 2.0, 1, math.inf, 3.5, 0.5, "inf"])
@pytest.mark.parametrize("max_norm,scale", [(1.0, 1.0), (100.0, 1.0), (0.3, 50.0)])
@pytest.mark.parametrize("with_none", [False, True])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, scale, with_none):
    ours, theirs = pairs(1, scale, with_none)
    norm_type = float(norm_type)
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type,
                                              foreach=False)
    assert isinstance(total, cunn.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected.item(), rtol=2e-6)
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            assert mine.grad is None
        else:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5,
                                       atol=1e-7)


def test_clip_grad_norm_really_clips():
    ours, _ = pairs(2, 10.0)
    utils.clip_grad_norm_(ours, 1.0)
    norm = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in ours))
    assert norm == pytest.approx(1.0, rel=1e-5)
    after = utils.clip_grad_norm_(ours, 5.0)  # under the limit: unchanged
    assert after.item() == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_single_tensor_and_no_grads():
    weight = nn.Parameter(cunn.tensor(np.ones(4, np.float32)))
    weight.grad = cunn.tensor(np.full(4, 2.0, np.float32))
    assert utils.clip_grad_norm_(weight, 1.0).item() == pytest.approx(4.0)
    np.testing.assert_allclose(weight.grad.numpy(), 0.5 / (1 + 2.5e-7), rtol=1e-6)
    assert utils.clip_grad_norm_([nn.Parameter(cunn.tensor([1.0]))], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    weight = nn.Parameter(cunn.tensor(np.ones(2, np.float32)))
    weight.grad = cunn.tensor(np.array([np.inf, 1.0], np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([weight], 1.0, error_if_nonfinite=True)
    assert math.isinf(utils.clip_grad_norm_([weight], 1.0).item())


@needs_torch
@pytest.mark.parametrize("clip_value", [0.1, 1.0, 5])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = pairs(3, 2.0, with_none=True)
    assert utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value, foreach=False)
    for mine, reference in zip(ours, theirs):
        if reference.grad is not None:
            np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())


@needs_torch
def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = pairs(4)
    vector = utils.parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vector.numpy(), expected.detach().numpy())
    new = np.arange(vector.shape[0], dtype=np.float32)
    data_before = [p._data for p in ours]
    utils.vector_to_parameters(cunn.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new.copy()), theirs)
    for mine, reference, data in zip(ours, theirs, data_before):
        np.testing.assert_array_equal(mine.numpy(), reference.detach().numpy())
        assert mine._data is data  # updated in place: optimizers keep working on it


def test_parameters_to_vector_is_differentiable():
    ours, _ = pairs(5)
    for parameter in ours:
        parameter.grad = None
    vector = utils.parameters_to_vector(ours)
    (vector * cunn.tensor(np.arange(vector.shape[0], dtype=np.float32))).sum().backward()
    offset = 0
    for parameter in ours:
        size = parameter.numel()
        expected = np.arange(offset, offset + size, dtype=np.float32).reshape(parameter.shape)
        np.testing.assert_array_equal(parameter.grad.numpy(), expected)
        offset += size


def test_errors():
    ours, _ = pairs(6)
    with pytest.raises(TypeError, match="vector_to_parameters: vec must be a Tensor"):
        utils.vector_to_parameters(np.zeros(3), ours)
    with pytest.raises(ValueError, match="vector_to_parameters: vec has 3 elements"):
        utils.vector_to_parameters(cunn.tensor(np.zeros(3, np.float32)), ours)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[1\] must be a Tensor"):
        utils.clip_grad_norm_([ours[0], 3], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be a number"):
        utils.clip_grad_value_(ours, "big")


def test_reachable_as_attribute():
    import cunn as fresh

    assert fresh.nn.utils.clip_grad_norm_ is utils.clip_grad_norm_
