"""Training through the whole stack (modules, functional, ops, autograd, kernels) on device
arrays, against the same training on the host; and the caching allocator: once a step has
run, an identical step makes no new device mallocs."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F
from cunn._backends.cuda.array import DeviceArray, to_device
from cunn.ops._util import kernels_for


def mlp():
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 9), nn.ReLU(),
                         nn.Linear(9, 5))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 3, stride=2), nn.Sigmoid(), nn.Flatten(),
                         nn.Linear(3, 5))


def data(model_name, seed):
    rng = np.random.default_rng(seed)
    shape = (7, 12) if model_name == "mlp" else (7, 2, 9, 9)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 5, 7).astype(np.int64)


def to_cuda(model):
    """The model's parameters moved to the device in place (Module.to's job, done by hand
    so this test needs only the backend)."""
    for parameter in model.parameters():
        parameter._data = to_device(parameter._data)
    return model


def sgd_step(model, lr):
    for parameter in model.parameters():
        kernels_for(parameter._data).sgd_step_([parameter._data], [parameter.grad._data], [],
                                              lr, 0.0, 0.0, 0.0, False, False)
        parameter.grad = None


def train(model, batches, device):
    losses = []
    for x, target in batches:
        if device:
            x, target = to_device(x), to_device(target)
        loss = F.cross_entropy(model(cunn.Tensor(x)), cunn.Tensor(target))
        loss.backward()
        sgd_step(model, 0.1)
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_training_on_the_device_matches_the_host(model_name):
    cunn.manual_seed(3)
    host_model = (mlp if model_name == "mlp" else cnn)()
    device_model = (mlp if model_name == "mlp" else cnn)()
    device_model.load_state_dict(host_model.state_dict())
    to_cuda(device_model)
    batches = [data(model_name, seed) for seed in range(4)]
    host_losses = train(host_model, batches, device=False)
    device_losses = train(device_model, batches, device=True)
    np.testing.assert_allclose(device_losses, host_losses, rtol=1e-4)
    assert host_losses[-1] < host_losses[0]  # it learned something, on both
    for host, device in zip(host_model.parameters(), device_model.parameters()):
        assert isinstance(device._data, DeviceArray)
        np.testing.assert_allclose(device._data.get(), host._data, rtol=1e-4, atol=1e-5)


def test_a_repeated_training_step_makes_no_new_device_mallocs(simulated_runtime):
    cunn.manual_seed(0)
    model = to_cuda(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 16), nn.ReLU(),
                                  nn.Linear(16, 5)))
    x, target = data("cnn", 0)
    x, target = to_device(x[:, :, :8, :8].copy()), to_device(target)

    def step():
        loss = F.cross_entropy(model(cunn.Tensor(x)), cunn.Tensor(target))
        loss.backward()
        sgd_step(model, 0.05)
        return loss.item()

    step()
    first = simulated_runtime.memory_stats()
    assert first["device_malloc_calls"] > 0
    for _ in range(3):
        step()
    after = simulated_runtime.memory_stats()
    assert after["device_malloc_calls"] == first["device_malloc_calls"]
    assert after["cache_hits"] > first["cache_hits"]
    # Only the parameters (and the data) stay allocated between steps.
    held = sum(p._data.nbytes for p in model.parameters()) + x.nbytes + target.nbytes
    assert after["allocated_bytes"] <= held + 512 * (len(list(model.parameters())) + 2)


def test_device_dropout_is_reproducible_under_manual_seed():
    x = cunn.Tensor(to_device(np.ones((40, 30), np.float32)))
    cunn.manual_seed(7)
    first = F.dropout(x, 0.4, training=True)._data.get()
    cunn.manual_seed(7)
    second = F.dropout(x, 0.4, training=True)._data.get()
    np.testing.assert_array_equal(first, second)
    assert set(np.unique(first)) <= {0.0, np.float32(1 / 0.6)}
    assert abs((first == 0).mean() - 0.4) < 0.05
