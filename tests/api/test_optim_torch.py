"""Adadelta, Adagrad and Adam/AdamW with amsgrad against torch.optim over 25 steps, on
every backend, plus the optimizer protocol (state dicts, groups, zero_grad, closures).

Tolerance: cunn rounds each float32 operation of PyTorch's single-tensor rule in
the same order; PyTorch's vectorised CPU ops may fuse a multiply-add, so single
steps differ by about an ulp and 25 steps by a few: rtol 1e-5, atol 1e-6 on
parameters of magnitude ~1.
"""
import numpy as np
import pytest

import cunn
from cunn import nn, optim
from cunn._backends import available_backends

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the oracle) is not installed")

BACKENDS = [name for name in available_backends() if name in ("cpu", "numpy")]
SHAPES = [(5, 7), (13,), (1,), (3, 17)]
STEPS = 25

CASES = [
    ("Adadelta", {}),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05)),
    ("Adagrad", {}),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.3,
                     eps=1e-8)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.9))),
    ("AdamW", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, amsgrad=True, weight_decay=0.1, betas=(0.3, 0.5))),
]


def starting_point(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
             for _ in range(STEPS)]
    return params, grads


def torch_trajectory(name, options, params, grads):
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    optimizer = getattr(torch.optim, name)(tensors, foreach=False, **options)
    history = []
    for step_grads in grads:
        for tensor, grad in zip(tensors, step_grads):
            tensor.grad = torch.from_numpy(grad.copy())
        optimizer.step()
        history.append([t.detach().numpy().copy() for t in tensors])
    return history, optimizer


def cunn_trajectory(name, options, params, grads, backend):
    tensors = [nn.Parameter(cunn.tensor(p.copy())) for p in params]
    optimizer = getattr(optim, name)(tensors, **options)
    history = []
    with cunn.backend(backend):
        for step_grads in grads:
            for tensor, grad in zip(tensors, step_grads):
                tensor.grad = cunn.tensor(grad.copy())
            optimizer.step()
            history.append([t.numpy().copy() for t in tensors])
    return history, optimizer


def assert_trajectories_close(ours, theirs):
    for step, (mine, reference) in enumerate(zip(ours, theirs), start=1):
        for a, b in zip(mine, reference):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


@needs_torch
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,options", CASES, ids=lambda v: str(v))
def test_trajectory_matches_torch(backend, name, options):
    params, grads = starting_point()
    theirs, torch_optimizer = torch_trajectory(name, options, params, grads)
    ours, optimizer = cunn_trajectory(name, options, params, grads, backend)
    assert_trajectories_close(ours, theirs)
    # The state too, named as PyTorch names it.
    torch_state = torch_optimizer.state_dict()["state"]
    our_state = optimizer.state_dict()["state"]
    for index in range(len(SHAPES)):
        for key, value in torch_state[index].items():
            if key == "step":
                assert our_state[index]["step"] == int(value.item())
            else:
                np.testing.assert_allclose(np.asarray(our_state[index][key]), value.numpy(),
                                           rtol=1e-5, atol=1e-6, err_msg=key)


@needs_torch
def test_parameters_that_skip_steps_match_torch():
    """A parameter without a gradient is left alone and its step count stays behind (its
    Adagrad lr decay and Adam bias corrections then differ from the others')."""
    params, grads = starting_point(3)
    for name, options in [("Adagrad", dict(lr_decay=0.1)), ("Adam", dict(amsgrad=True)),
                          ("Adadelta", {})]:
        tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
        ours = [nn.Parameter(cunn.tensor(p.copy())) for p in params]
        torch_optimizer = getattr(torch.optim, name)(tensors, foreach=False, **options)
        optimizer = getattr(optim, name)(ours, **options)
        for step, step_grads in enumerate(grads):
            for index, (tensor, mine, grad) in enumerate(zip(tensors, ours, step_grads)):
                skip = index == 1 and step % 3 == 0
                tensor.grad = None if skip else torch.from_numpy(grad.copy())
                mine.grad = None if skip else cunn.tensor(grad.copy())
            torch_optimizer.step()
            optimizer.step()
        for tensor, mine in zip(tensors, ours):
            np.testing.assert_allclose(mine.numpy(), tensor.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=name)


@needs_torch
@pytest.mark.parametrize("name,options", CASES[::2] + CASES[1::4], ids=lambda v: str(v))
def test_state_dict_round_trip_mid_trajectory(name, options):
    """Ten steps, a state dict, a fresh optimizer loaded from it, fifteen more steps: the
    same trajectory as without the break (and as torch)."""
    params, grads = starting_point(5)
    theirs, _ = torch_trajectory(name, options, params, grads)
    tensors = [nn.Parameter(cunn.tensor(p.copy())) for p in params]
    optimizer = getattr(optim, name)(tensors, **options)
    for step, step_grads in enumerate(grads):
        if step == 10:
            saved = optimizer.state_dict()
            optimizer = getattr(optim, name)(tensors, lr=123.0)
            optimizer.load_state_dict(saved)
            assert optimizer.param_groups[0]["lr"] == saved["param_groups"][0]["lr"]
        for tensor, grad in zip(tensors, step_grads):
            tensor.grad = cunn.tensor(grad.copy())
        optimizer.step()
    for mine, reference in zip(tensors, theirs[-1]):
        np.testing.assert_allclose(mine.numpy(), reference, rtol=1e-5, atol=1e-6)


def test_state_dict_through_cunn_save(tmp_path):
    params, grads = starting_point(6)
    tensors = [nn.Parameter(cunn.tensor(p.copy())) for p in params]
    optimizer = optim.Adagrad(tensors, lr_decay=0.01)
    for tensor, grad in zip(tensors, grads[0]):
        tensor.grad = cunn.tensor(grad)
    optimizer.step()
    cunn.save(optimizer.state_dict(), tmp_path / "opt.npz")
    fresh = optim.Adagrad(tensors, lr_decay=0.01)
    fresh.load_state_dict(cunn.load(tmp_path / "opt.npz"))
    for index in range(len(SHAPES)):
        assert fresh.state[tensors[index]]["step"] == 1
        np.testing.assert_array_equal(fresh.state[tensors[index]]["sum"],
                                      optimizer.state[tensors[index]]["sum"])


@needs_torch
@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adam", "AdamW"])
def test_add_param_group_matches_torch(name):
    """A second group with its own lr, added after some steps, as PyTorch allows."""
    params, grads = starting_point(7)
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    ours = [nn.Parameter(cunn.tensor(p.copy())) for p in params]
    options = dict(amsgrad=True) if name.startswith("Adam") else {}
    torch_optimizer = getattr(torch.optim, name)(tensors[:2], foreach=False, **options)
    optimizer = getattr(optim, name)(ours[:2], **options)
    for step, step_grads in enumerate(grads):
        if step == 5:
            torch_optimizer.add_param_group({"params": tensors[2:], "lr": 0.05})
            optimizer.add_param_group({"params": ours[2:], "lr": 0.05})
            assert optimizer.param_groups[1]["lr"] == 0.05
            # PyTorch's groups also carry its device options (foreach, fused, ...).
            assert set(optimizer.param_groups[1]) <= set(torch_optimizer.param_groups[1])
        for tensor, mine, grad in zip(tensors, ours, step_grads):
            tensor.grad = torch.from_numpy(grad.copy())
            mine.grad = cunn.tensor(grad.copy())
        torch_optimizer.step()
        optimizer.step()
    for tensor, mine in zip(tensors, ours):
        np.testing.assert_allclose(mine.numpy(), tensor.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adam", "AdamW", "SGD", "RMSprop"])
def test_protocol(name):
    weight = nn.Parameter(cunn.tensor(np.ones((2, 3), np.float32)))
    optimizer = getattr(optim, name)([weight], lr=0.1)
    assert isinstance(optimizer.param_groups, list) and optimizer.param_groups[0]["lr"] == 0.1

    def closure():
        optimizer.zero_grad()
        loss = (weight * weight).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert float(loss) == 6.0
    assert not np.array_equal(weight.numpy(), np.ones((2, 3), np.float32))
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(weight.grad.numpy(), 0.0)
    optimizer.zero_grad()
    assert weight.grad is None
    before = weight.numpy().copy()
    optimizer.step()  # no gradient: nothing moves
    np.testing.assert_array_equal(weight.numpy(), before)


@needs_torch
def test_defaults_are_pytorch_defaults():
    weight = nn.Parameter(cunn.tensor(np.ones(3, np.float32)))
    tweight = torch.nn.Parameter(torch.ones(3))
    for name in ("Adadelta", "Adagrad", "Adam", "AdamW"):
        ours = getattr(optim, name)([weight]).param_groups[0]
        theirs = getattr(torch.optim, name)([tweight]).param_groups[0]
        for key, value in ours.items():
            if key != "params":
                assert theirs[key] == value, (name, key)


@pytest.mark.parametrize("name,key,value", [
    ("Adadelta", "rho", 1.5), ("Adadelta", "lr", -1.0), ("Adadelta", "eps", -1e-6),
    ("Adagrad", "lr_decay", -0.1), ("Adagrad", "initial_accumulator_value", -1.0),
    ("Adagrad", "eps", -1.0), ("Adam", "betas", (0.9, 1.0))])
def test_bad_settings_raise(name, key, value):
    weight = nn.Parameter(cunn.tensor(np.ones(3, np.float32)))
    with pytest.raises(ValueError, match=f"{name}: {key}"):
        getattr(optim, name)([weight], **{key: value})
