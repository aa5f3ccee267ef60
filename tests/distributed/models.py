"""The networks and data the distributed tests train, built the same way in the MPI ranks and
in the single-process reference."""
import numpy as np

import cunn
import cunn.nn as nn
import cunn.optim as optim


def build(kind):
    cunn.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 14 * 14, 10))


def optimizer(kind, model):
    if kind == "sgd":
        return optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return optim.Adam(model.parameters(), lr=1e-2)


def batch(count=64):
    rng = np.random.default_rng(7)
    images = rng.standard_normal((count, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, count).astype(np.int64)
    return images, labels


def train(model, opt, images, labels, steps):
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(images), labels).backward()
        opt.step()
