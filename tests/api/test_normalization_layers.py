"""BatchNorm1d/2d and LayerNorm against PyTorch as the oracle (forward, input and parameter
gradients, running buffers over several training steps and in eval) on both backends; their
functional forms against float64 finite differences; module buffers in state dicts.

Tolerance: float32 with different summation orders: rtol 1e-4, atol 1e-4 for outputs and
input gradients (normalised values are O(1)); parameter gradients sum over the batch:
atol 1e-4 * sqrt(values per channel).
"""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F
from api.gradcheck import check_gradients, compare_backends

torch = pytest.importorskip("torch")


def _draw(shape, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2 + rng.standard_normal()).astype(np.float32)


def _close(ours, theirs, atol=1e-4, name=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-4, atol=atol, err_msg=name)


def _step_both(ours, theirs, x, seed):
    """One forward/backward on each; compares output, gradients and buffers."""
    mine = cunn.tensor(x, requires_grad=True)
    reference = torch.tensor(x, requires_grad=True)
    out, out_torch = ours(mine), theirs(reference)
    _close(out.numpy(), out_torch, name="output")
    projection = _draw(out_torch.shape, seed)
    out.backward(cunn.tensor(projection))
    out_torch.backward(torch.from_numpy(projection))
    _close(mine.grad.numpy(), reference.grad, name="input gradient")
    per_channel = x.size / x.shape[1] if x.ndim > 1 else x.size
    for (name, param), (_, param_torch) in zip(ours.named_parameters(),
                                               theirs.named_parameters()):
        _close(param.grad.numpy(), param_torch.grad, 1e-4 * np.sqrt(per_channel), name)
        param.grad = None
        param_torch.grad = None
    for (name, buffer), (name_torch, buffer_torch) in zip(ours.named_buffers(),
                                                          theirs.named_buffers()):
        assert name == name_torch
        _close(buffer.numpy(), buffer_torch, name=name)


BATCH_NORM_CASES = [
    ("BatchNorm1d", (8, 5)), ("BatchNorm1d", (2, 3)), ("BatchNorm1d", (4, 7, 9)),
    ("BatchNorm1d", (1, 6, 5)), ("BatchNorm2d", (4, 3, 5, 7)), ("BatchNorm2d", (1, 6, 24, 24)),
    ("BatchNorm2d", (16, 16, 8, 8)), ("BatchNorm2d", (3, 1, 1, 2)),
]
OPTIONS = [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False),
           dict(track_running_stats=False)]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(map(str, o.items())) or
                         "defaults")
@pytest.mark.parametrize("layer, shape", BATCH_NORM_CASES)
def test_batch_norm_matches_torch(layer, shape, options, backend):
    channels = shape[1]
    ours = getattr(nn, layer)(channels, **options)
    theirs = getattr(torch.nn, layer)(channels, **options)
    if ours.affine:
        weight, bias = _draw(channels, 1), _draw(channels, 2)
        ours.weight.data.copy_(cunn.tensor(weight))
        ours.bias.data.copy_(cunn.tensor(bias))
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(weight))
            theirs.bias.copy_(torch.from_numpy(bias))
    for step in range(4):
        _step_both(ours, theirs, _draw(shape, 10 + step), 20 + step)
    ours.eval()
    theirs.eval()
    for step in range(2):
        _step_both(ours, theirs, _draw(shape, 30 + step), 40 + step)
    ours.train()
    theirs.train()
    _step_both(ours, theirs, _draw(shape, 50), 51)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked.item()) == 5


LAYER_NORM_CASES = [((4, 7), 7, {}), ((2, 3, 4, 5), (4, 5), {}), ((1, 1), 1, {}),
                    ((3, 5, 17), [17], dict(eps=1e-3)), ((6, 10), 10,
                                                         dict(elementwise_affine=False)),
                    ((2, 9, 33), (9, 33), dict(bias=False))]


@pytest.mark.parametrize("shape, normalized_shape, options", LAYER_NORM_CASES)
def test_layer_norm_matches_torch(shape, normalized_shape, options, backend):
    ours = nn.LayerNorm(normalized_shape, **options)
    theirs = torch.nn.LayerNorm(normalized_shape, **options)
    for index, (param, param_torch) in enumerate(zip(ours.parameters(), theirs.parameters())):
        values = _draw(tuple(param.shape), index)
        param.data.copy_(cunn.tensor(values))
        with torch.no_grad():
            param_torch.copy_(torch.from_numpy(values))
    for step in range(2):
        _step_both(ours, theirs, _draw(shape, step), 5 + step)


def test_batch_norm_state_dict_matches_torch_names_and_round_trips():
    def network(framework):
        return framework.nn.Sequential(framework.nn.Conv2d(1, 4, 3), framework.nn.BatchNorm2d(4),
                                       framework.nn.Flatten(), framework.nn.Linear(16, 3),
                                       framework.nn.BatchNorm1d(3))

    ours, theirs = network(cunn), network(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in ours.named_buffers()] == [
        name for name, _ in theirs.named_buffers()]
    assert len(list(ours.buffers())) == 6
    for _ in range(3):
        ours(cunn.tensor(_draw((5, 1, 4, 4), 0)))
    state = ours.state_dict()
    assert int(np.asarray(state["1.num_batches_tracked"])) == 3
    fresh = network(cunn)
    fresh.load_state_dict(state)
    for (name, a), (_, b) in zip(ours.named_buffers(), fresh.named_buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert not np.array_equal(fresh[1].running_var.numpy(), np.ones(4, np.float32))
    # A PyTorch state dict loads into cunn and gives the same eval outputs.
    theirs.load_state_dict({key: torch.from_numpy(np.array(value.numpy() if hasattr(
        value, "numpy") else value)) for key, value in state.items()})
    ours.eval()
    theirs.eval()
    x = _draw((2, 1, 4, 4), 1)
    _close(ours(cunn.tensor(x)).numpy(), theirs(torch.from_numpy(x)))


def test_register_buffer_and_modes():
    module = nn.Module()
    module.register_buffer("steps", cunn.zeros(3))
    module.register_buffer("scratch", cunn.ones(2), persistent=False)
    module.child = nn.BatchNorm1d(2)
    assert [name for name, _ in module.named_buffers()] == [
        "steps", "scratch", "child.running_mean", "child.running_var",
        "child.num_batches_tracked"]
    keys = list(module.state_dict())
    assert "steps" in keys and "scratch" not in keys
    assert module.child.training
    module.eval()
    assert not module.child.training
    before = module.child.running_mean.numpy().copy()
    module.child(cunn.tensor(_draw((4, 2), 3)))
    np.testing.assert_array_equal(module.child.running_mean.numpy(), before)
    module.train()
    module.child(cunn.tensor(_draw((4, 2), 3)))
    assert not np.array_equal(module.child.running_mean.numpy(), before)


def test_functional_batch_norm_gradients_by_finite_differences():
    rng = np.random.default_rng(0)
    x, weight, bias = rng.standard_normal((3, 2, 4)), rng.standard_normal(2), \
        rng.standard_normal(2)
    check_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x,
                    weight, bias)
    mean, var = rng.standard_normal(2), rng.random(2) + 0.5
    check_gradients(lambda x, w, b: F.batch_norm(
        x, cunn.tensor(mean, dtype=cunn.float64), cunn.tensor(var, dtype=cunn.float64), w, b,
        training=False), x, weight, bias)


def test_functional_layer_norm_gradients_by_finite_differences():
    rng = np.random.default_rng(1)
    x, weight, bias = rng.standard_normal((3, 2, 5)), rng.standard_normal((2, 5)), \
        rng.standard_normal((2, 5))
    check_gradients(lambda x, w, b: F.layer_norm(x, (2, 5), w, b), x, weight, bias)


def test_functional_forms_agree_across_backends():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 4, 6)) * 3
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    compare_backends(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x,
                     weight, bias, rtol=1e-4, atol=1e-4)
    ln_weight = rng.standard_normal(6)
    compare_backends(lambda x, w: F.layer_norm(x, 6, w), x, ln_weight, rtol=1e-4, atol=1e-4)


def test_user_errors():
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(cunn.ones(1, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected a 4-D"):
        nn.BatchNorm2d(3)(cunn.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4.*expected 4 channels"):
        nn.BatchNorm1d(4)(cunn.ones(2, 3))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        F.batch_norm(cunn.ones(2, 3), None, None, cunn.ones(4), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var must be given"):
        F.batch_norm(cunn.ones(2, 3), None, None, training=False)
    with pytest.raises(TypeError, match="batch_norm: input must be float32"):
        F.batch_norm(cunn.tensor(np.ones((2, 3)), dtype=cunn.float64), None, None, training=True)
    with pytest.raises(ValueError, match="layer_norm: input's trailing dims"):
        nn.LayerNorm(5)(cunn.ones(2, 4))
    with pytest.raises(TypeError, match="LayerNorm: normalized_shape"):
        nn.LayerNorm("5")
    with pytest.raises(TypeError, match="BatchNorm2d: num_features must be an int"):
        nn.BatchNorm2d(2.0)
