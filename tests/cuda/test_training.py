"""The MNIST MLP and CNN trained on a real GPU: the loss falls, the test accuracy passes a
threshold, and the GPU run stays close to the same run on the CPU (same initial weights,
same batches). Real MNIST when CUNN_DATA holds it, else generated digits.

Runs only where cunn was built with CUDA and a GPU is present (tools/gpu_check.sh runs it);
elsewhere it skips with the reason.
"""
import copy
import os

import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.optim as optim


def _compiled_gpu():
    """Why the compiled CUDA runtime is unusable here, or None (the simulator the tests of
    tests/cuda_simulated install does not count)."""
    from cunn import _C

    if not _C.cuda_built():
        return "cunn was built without CUDA (-Ccmake.define.CUNN_CUDA=ON)"
    if _C.cuda_device_count() == 0:
        return "no CUDA device on this machine"
    return None


pytestmark = pytest.mark.skipif(_compiled_gpu() is not None, reason=str(_compiled_gpu()))

BATCH = 64


@pytest.fixture(autouse=True)
def compiled_runtime():
    """The real runtime for these tests, whatever another test installed."""
    from cunn._backends.cuda import runtime

    previous = runtime.use_runtime(None)
    yield
    runtime.use_runtime(previous)


def _data():
    """(train images, train labels, test images, test labels, is_mnist); images (N, 1, 28, 28)
    float32 normalised, labels int64."""
    folder = os.path.join(os.environ.get("CUNN_DATA", ""), "mnist")
    if os.environ.get("CUNN_DATA") and os.path.isdir(folder):
        train = cunn.data.MNIST(root=folder, train=True, download=False)
        test = cunn.data.MNIST(root=folder, train=False, download=False)
        pairs = [(train.data, train.targets), (test.data, test.targets)]
        mnist = True
    else:
        templates = np.random.default_rng(0).random((10, 28, 28)) > 0.7
        pairs = []
        for count, seed in ((20000, 1), (2000, 2)):
            rng = np.random.default_rng(seed)
            labels = rng.integers(0, 10, count)
            images = np.clip(templates[labels] * 25.0 + rng.normal(80.0, 100.0, (count, 28, 28)),
                             0, 255)
            pairs.append((images, labels))
        mnist = False
    arrays = []
    for images, labels in pairs:
        arrays.append(((np.asarray(images, np.float32) / 255 - 0.1307) / 0.3081)
                      .reshape(-1, 1, 28, 28))
        arrays.append(np.asarray(labels, np.int64))
    return (*arrays, mnist)


DATA = None


def data():
    global DATA
    if DATA is None:
        DATA = _data()
    return DATA


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def train(model, device, steps):
    """Losses of ``steps`` Adam steps on ``device`` (batches in a fixed order) and the test
    accuracy in percent afterwards."""
    train_x, train_y, test_x, test_y, _ = data()
    model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(0).permutation(len(train_x))
    losses = []
    for step in range(steps):
        chosen = order[step * BATCH:(step + 1) * BATCH]
        images = cunn.from_numpy(train_x[chosen]).to(device)
        labels = cunn.from_numpy(train_y[chosen]).to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(p.device == cunn.device(device) for p in model.parameters())
    model.eval()
    correct = 0
    with cunn.no_grad():
        for first in range(0, len(test_x), 500):
            images = cunn.from_numpy(test_x[first:first + 500]).to(device)
            predicted = model(images).argmax(1).cpu().numpy()
            correct += int((predicted == test_y[first:first + 500]).sum())
    return np.array(losses), 100.0 * correct / len(test_x)


@pytest.mark.parametrize("build, steps, mnist_accuracy, generated_accuracy", [
    (mlp, 300, 90.0, 75.0),
    (cnn, 200, 93.0, 75.0),
])
def test_gpu_training_learns_and_matches_the_cpu(build, steps, mnist_accuracy,
                                                 generated_accuracy):
    cunn.manual_seed(0)
    cpu_model = build()
    gpu_model = copy.deepcopy(cpu_model)
    gpu_losses, gpu_accuracy = train(gpu_model, "cuda", steps)
    cpu_losses, cpu_accuracy = train(cpu_model, "cpu", steps)
    threshold = mnist_accuracy if data()[4] else generated_accuracy
    assert gpu_losses[-20:].mean() < 0.5 * gpu_losses[:20].mean()
    assert gpu_accuracy > threshold, (gpu_accuracy, cpu_accuracy)
    # Same weights and batches: the first steps agree closely (float32 sums in another
    # order), the end stays close (training amplifies rounding differences slowly).
    np.testing.assert_allclose(gpu_losses[:10], cpu_losses[:10], rtol=1e-3, atol=1e-4)
    assert abs(gpu_losses[-20:].mean() - cpu_losses[-20:].mean()) < 0.05
    assert abs(gpu_accuracy - cpu_accuracy) < 2.0


def test_gpu_memory_is_reused_across_steps():
    """The caching allocator serves a training step without new device allocations once
    the first steps have filled its cache."""
    cunn.manual_seed(0)
    model = mlp().to("cuda")
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    images = cunn.randn(BATCH, 1, 28, 28, device="cuda")
    labels = cunn.randint(0, 10, (BATCH,), device="cuda")

    def step():
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()

    for _ in range(3):
        step()
    cunn.cuda.synchronize()
    before = cunn.cuda.memory_stats()["device_malloc_calls"]
    for _ in range(10):
        step()
    cunn.cuda.synchronize()
    assert cunn.cuda.memory_stats()["device_malloc_calls"] == before
