"""The MNIST MLP (784-128-10, Adam) and a small CNN train for a few dozen steps on the
simulated GPU and follow the same steps on the CPU closely (same initial weights, same
batches; float32 sums in another order, so close rather than bit-identical)."""
import copy

import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.optim as optim


def batches(count, size, seed=0):
    """``count`` batches of generated 28x28 "digits": ten fixed templates plus noise."""
    templates = (np.random.default_rng(100).random((10, 1, 28, 28)) > 0.5).astype(np.float32) * 2
    rng = np.random.default_rng(seed)
    for _ in range(count):
        labels = rng.integers(0, 10, size)
        images = templates[labels] + rng.normal(0, 0.5, (size, 1, 28, 28)).astype(np.float32)
        yield images, labels


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 7 * 7, 10))


def train(model, device, steps, batch, lr):
    model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for images, labels in batches(steps, batch):
        images = cunn.from_numpy(images).to(device)
        labels = cunn.from_numpy(labels).to(device)
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(model(images), labels)
        loss.backward()
        optimizer.step()
        assert loss.is_cuda == (device == "cuda")
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("build, steps, batch, lr", [(mlp, 40, 32, 1e-3), (cnn, 30, 16, 5e-3)],
                         ids=["mlp", "cnn"])
def test_simulated_gpu_training_follows_the_cpu(build, steps, batch, lr, simulated_runtime):
    cunn.manual_seed(0)
    cpu_model = build()
    gpu_model = copy.deepcopy(cpu_model)
    parameters = list(gpu_model.parameters())
    gpu_losses = train(gpu_model, "cuda", steps, batch, lr)
    cpu_losses = train(cpu_model, "cpu", steps, batch, lr)
    assert list(gpu_model.parameters()) == parameters
    assert all(p.is_cuda for p in parameters)
    assert gpu_losses[-5:].mean() < 0.7 * gpu_losses[:5].mean()  # it learns
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=2e-4, atol=2e-5)
    for gpu_param, cpu_param in zip(gpu_model.parameters(), cpu_model.parameters()):
        np.testing.assert_allclose(gpu_param.cpu().numpy(), cpu_param.numpy(),
                                   rtol=1e-3, atol=1e-4)
    # The caching allocator serves the steady state: after the first steps, a step reuses
    # freed blocks and never asks the device for memory.
    calls = simulated_runtime.memory_stats()["device_malloc_calls"]
    train(gpu_model, "cuda", 3, batch, lr)
    assert simulated_runtime.memory_stats()["device_malloc_calls"] == calls
