"""Where PyTorch happens to be installed: the same networks, started from the same weights
and fed the same batches, follow the same training trajectory in cunn and in torch.
Skipped without torch; torch is never required."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.optim as optim

torch = pytest.importorskip("torch")


def _mlp(framework):
    return framework.nn.Sequential(framework.nn.Linear(784, 128), framework.nn.ReLU(),
                                   framework.nn.Linear(128, 64), framework.nn.ReLU(),
                                   framework.nn.Linear(64, 10))


def _cnn(framework):
    layers = framework.nn
    return layers.Sequential(
        layers.Conv2d(1, 8, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
        layers.Conv2d(8, 16, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
        layers.Flatten(), layers.Linear(16 * 7 * 7, 32), layers.ReLU(), layers.Linear(32, 10))


def _copy_weights(source, target):
    with torch.no_grad():
        for (name, ours), (torch_name, theirs) in zip(source.named_parameters(),
                                                      target.named_parameters()):
            assert name == torch_name and tuple(ours.shape) == tuple(theirs.shape)
            theirs.copy_(torch.from_numpy(ours.numpy().copy()))


OPTIMIZERS = {
    "adam": (lambda params, f: f.optim.Adam(params, lr=1e-3)),
    "adamw": (lambda params, f: f.optim.AdamW(params, lr=1e-3, weight_decay=0.1)),
    "sgd nesterov": (lambda params, f: f.optim.SGD(params, lr=0.05, momentum=0.9,
                                                   nesterov=True, weight_decay=1e-3)),
    "rmsprop centered": (lambda params, f: f.optim.RMSprop(params, lr=1e-3, momentum=0.5,
                                                           centered=True)),
}


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_training_trajectory_matches_torch(model_name, optimizer_name, backend):
    torch.set_num_threads(1)
    cunn.manual_seed(0)
    build = _mlp if model_name == "mlp" else _cnn
    ours = build(cunn)
    theirs = build(torch)
    _copy_weights(ours, theirs)
    ours_opt = OPTIMIZERS[optimizer_name](ours.parameters(), cunn)
    theirs_opt = OPTIMIZERS[optimizer_name](theirs.parameters(), torch)
    rng = np.random.default_rng(1)
    shape = (16, 784) if model_name == "mlp" else (16, 1, 28, 28)
    with cunn.backend(backend):
        for step in range(15):
            inputs = rng.standard_normal(shape).astype(np.float32)
            labels = rng.integers(0, 10, 16)
            ours_opt.zero_grad()
            ours_loss = nn.CrossEntropyLoss()(ours(cunn.tensor(inputs)), cunn.tensor(labels))
            ours_loss.backward()
            ours_opt.step()
            theirs_opt.zero_grad()
            theirs_loss = torch.nn.CrossEntropyLoss()(theirs(torch.from_numpy(inputs)),
                                                      torch.from_numpy(labels))
            theirs_loss.backward()
            theirs_opt.step()
            assert ours_loss.item() == pytest.approx(theirs_loss.item(), rel=1e-4, abs=1e-5), step
    # Adaptive optimizers move every weight by up to about lr per step whatever the size of
    # its gradient, so float32 rounding differences in a near-zero gradient (or in centered
    # RMSprop's v - g_avg^2) show up at a fraction of lr: 1e-4 is a tenth of one step here and
    # under 1% of how far 15 steps move a weight.
    for (name, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(mine.numpy(), reference.detach().numpy(), rtol=1e-3,
                                   atol=1e-4, err_msg=name)


@pytest.mark.parametrize("function", ["cross_entropy", "log_softmax", "softmax", "conv2d",
                                      "max_pool2d", "mse_loss", "bce_with_logits", "leaky_relu"])
def test_functional_forward_and_gradient_match_torch(function):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 9, 7)).astype(np.float32)
    weight = rng.standard_normal((5, 3, 3, 2)).astype(np.float32)
    target = rng.standard_normal((4, 3, 9, 7)).astype(np.float32)
    labels = rng.integers(0, 7, 4 * 3 * 9)
    calls = {
        "cross_entropy": lambda F, a, w: F.cross_entropy(a.reshape(-1, 7), as_labels(F)),
        "log_softmax": lambda F, a, w: F.log_softmax(a, 1),
        "softmax": lambda F, a, w: F.softmax(a, -1),
        "conv2d": lambda F, a, w: F.conv2d(a, w, None, stride=(2, 1), padding=(1, 2)),
        "max_pool2d": lambda F, a, w: F.max_pool2d(a, 3, 2, 1),
        "mse_loss": lambda F, a, w: F.mse_loss(a, as_target(F)),
        "bce_with_logits": lambda F, a, w: F.binary_cross_entropy_with_logits(
            a, as_target(F).sigmoid()),
        "leaky_relu": lambda F, a, w: F.leaky_relu(a, 0.1),
    }

    def as_labels(F):
        return cunn.tensor(labels) if F is cunn.nn.functional else torch.from_numpy(labels)

    def as_target(F):
        return cunn.tensor(target) if F is cunn.nn.functional else torch.from_numpy(target)

    results = []
    for F, make in ((cunn.nn.functional, lambda a: cunn.tensor(a, requires_grad=True)),
                    (torch.nn.functional, lambda a: torch.tensor(a, requires_grad=True))):
        a, w = make(x), make(weight)
        out = calls[function](F, a, w)
        projection = np.random.default_rng(3).standard_normal(tuple(out.shape)).astype(np.float32)
        out.backward(cunn.tensor(projection) if F is cunn.nn.functional
                     else torch.from_numpy(projection))
        grad_w = w.grad.numpy() if w.grad is not None else None
        results.append((out.detach().numpy(), a.grad.numpy(), grad_w))
    (ours, ours_grad, ours_grad_w), (theirs, theirs_grad, theirs_grad_w) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-4, atol=1e-5)
    if theirs_grad_w is not None:
        np.testing.assert_allclose(ours_grad_w, theirs_grad_w, rtol=1e-4, atol=1e-4)
