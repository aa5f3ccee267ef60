"""nn.Sequential runs its Linear/ReLU runs as one linear_chain op: the same outputs and
gradients as the modules one by one, bit for bit, on both backends; and module by module
whenever the fused path could differ (subclasses, an instance forward, other dtypes or
shapes), so errors and results stay those of the layers."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def one_by_one(model, x):
    for module in model:
        x = module(x)
    return x


def outputs_and_grads(model, x, forward, seed=1):
    model.zero_grad()
    x = cunn.tensor(x, requires_grad=True)
    y = forward(model, x)
    y.backward(cunn.tensor(rand(*y.shape, seed=seed)))
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    return y.numpy().copy(), x.grad.numpy().copy(), grads


MODELS = {
    "mlp": lambda: nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
    "mlp3": lambda: nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                                  nn.Linear(8, 3)),
    "relu-last": lambda: nn.Sequential(nn.Linear(7, 5, bias=False), nn.ReLU()),
    "no-relu": lambda: nn.Sequential(nn.Linear(6, 6), nn.Linear(6, 2, bias=False)),
    "two-relus": lambda: nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.ReLU(), nn.Linear(4, 2)),
    "split-runs": lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Tanh(), nn.Linear(5, 4),
                                        nn.ReLU(), nn.Linear(4, 2)),
    "cnn-head": lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(),
                                      nn.Linear(8, 3)),
    "shared-layer": lambda: _shared_layer(),
}


def _shared_layer():
    # One Linear used twice: its gradient is the sum of both uses.
    layer = nn.Linear(6, 6)
    return nn.Sequential(layer, nn.ReLU(), layer)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch", [1, 5, 64])
def test_fused_equals_one_by_one(backend, name, batch):
    cunn.manual_seed(3)
    model = MODELS[name]()
    first = next(iter(model))
    shape = (batch, 3, 4) if isinstance(first, nn.Flatten) else (batch, first.in_features)
    x = rand(*shape, seed=batch)
    fused = outputs_and_grads(model, x, lambda m, t: m(t))
    plain = outputs_and_grads(model, x, one_by_one)
    np.testing.assert_array_equal(fused[0], plain[0])
    np.testing.assert_array_equal(fused[1], plain[1])
    for a, b in zip(fused[2], plain[2]):
        np.testing.assert_array_equal(a, b)


def test_runs_record_one_node(backend):
    model = MODELS["mlp"]()
    y = model(cunn.tensor(rand(4, 784)))
    assert y.grad_fn.name() == "LinearChainBackward"
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_training_is_the_same(backend):
    """A few Adam steps, fused and not, end at identical weights."""
    results = []
    for forward in (lambda m, t: m(t), one_by_one):
        cunn.manual_seed(0)
        model = MODELS["mlp3"]()
        optimizer = cunn.optim.Adam(model.parameters(), lr=1e-2)
        for step in range(5):
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(forward(model, cunn.tensor(rand(16, 20, seed=step))),
                                         cunn.tensor(np.arange(16) % 3))
            loss.backward()
            optimizer.step()
        results.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_no_grad_and_frozen_parameters(backend):
    model = MODELS["mlp3"]()
    x = cunn.tensor(rand(3, 20))
    with cunn.no_grad():
        y = model(x)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), one_by_one(model, x).numpy())
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    model(x).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None


class MyLinear(nn.Linear):
    def forward(self, input):
        return super().forward(input) * 2


@pytest.mark.parametrize("called_before", [False, True], ids=["fresh", "planned"])
@pytest.mark.parametrize("case", ["subclass", "instance-forward", "class-swap", "3-d",
                                  "numpy-input", "swapped-weight"])
def test_falls_back_to_the_modules(case, called_before):
    """Also after a first call has planned the fusion: the plan must not outlive the
    change."""
    model = MODELS["mlp"]()
    x = cunn.tensor(rand(2, 784))
    if called_before:
        assert model(x).grad_fn.name() == "LinearChainBackward"
    if case == "class-swap":
        model[0].__class__ = MyLinear
    elif case == "subclass":
        model[0] = MyLinear(784, 128)
    elif case == "instance-forward":
        original = model[2].forward
        model[2].forward = lambda input: original(input) + 1
    elif case == "3-d":
        x = cunn.tensor(rand(2, 3, 784))
    elif case == "numpy-input":
        x = rand(2, 784)
    elif case == "swapped-weight":
        # A weight that no longer matches in_features: F.linear's own error, as unfused.
        model[2].weight = nn.Parameter(rand(10, 64))
        with pytest.raises(ValueError, match="linear: input must have 64 features"):
            model(x)
        return
    y = model(x)
    assert y.grad_fn is None or y.grad_fn.name() != "LinearChainBackward"
    np.testing.assert_array_equal(y.numpy(), one_by_one(model, x).numpy())


def test_hooks_added_and_removed_after_planning():
    """A hook registered after the plan was made sees its module's own call; once removed
    (and once an instance forward is deleted) the run is fused again."""
    model = MODELS["mlp"]()
    x = cunn.tensor(rand(3, 784))
    expected = one_by_one(model, x).numpy()
    assert model(x).grad_fn.name() == "LinearChainBackward"
    seen = []
    handle = model[0].register_forward_hook(lambda module, args, output: seen.append(
        output.shape))
    y = model(x)
    assert seen == [(3, 128)] and y.grad_fn.name() != "LinearChainBackward"
    np.testing.assert_array_equal(y.numpy(), expected)
    handle.remove()
    assert model(x).grad_fn.name() == "LinearChainBackward" and len(seen) == 1
    model[2].forward = lambda input: nn.Linear.forward(model[2], input) * 0
    assert not model(x).numpy().any()
    del model[2].forward
    y = model(x)
    assert y.grad_fn.name() == "LinearChainBackward"
    np.testing.assert_array_equal(y.numpy(), expected)


def test_replaced_module_after_planning():
    model = MODELS["mlp"]()
    x = cunn.tensor(rand(2, 784))
    model(x)
    model[2] = nn.Linear(128, 10)
    np.testing.assert_array_equal(model(x).numpy(), one_by_one(model, x).numpy())
    model[1] = nn.Tanh()
    y = model(x)
    np.testing.assert_array_equal(y.numpy(), one_by_one(model, x).numpy())
    assert y.grad_fn.name() != "LinearChainBackward"


def test_errors_are_the_layers():
    model = MODELS["mlp"]()
    with pytest.raises(ValueError, match="in_features=784"):
        model(cunn.tensor(rand(2, 783)))
    with pytest.raises(TypeError, match="float32"):
        model(cunn.tensor(rand(2, 784).astype(np.float64), dtype=cunn.float64))


# Conv2d, ReLU, MaxPool2d(2) triples run as one conv2d_relu_pool op.
CNNS = {
    "mnist": lambda: nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10)),
    "odd-sizes": lambda: nn.Sequential(
        nn.Conv2d(3, 5, 3, stride=(1, 2), padding=(0, 1), bias=False), nn.ReLU(),
        nn.MaxPool2d(2, 2), nn.Conv2d(5, 16, 2), nn.ReLU(), nn.MaxPool2d((2, 2))),
    "winograd": lambda: nn.Sequential(
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 17, 3),
        nn.ReLU(), nn.MaxPool2d(2)),
}
CNN_INPUTS = {"mnist": (1, 28, 28), "odd-sizes": (3, 13, 17), "winograd": (16, 12, 12)}


@pytest.mark.parametrize("name", CNNS)
@pytest.mark.parametrize("batch", [1, 6])
def test_conv_relu_pool_equals_one_by_one(backend, name, batch):
    cunn.manual_seed(4)
    model = CNNS[name]()
    x = rand(batch, *CNN_INPUTS[name], seed=batch)
    fused = outputs_and_grads(model, x, lambda m, t: m(t))
    plain = outputs_and_grads(model, x, one_by_one)
    np.testing.assert_array_equal(fused[0], plain[0])
    np.testing.assert_array_equal(fused[1], plain[1])
    for a, b in zip(fused[2], plain[2]):
        np.testing.assert_array_equal(a, b)


def test_conv_relu_pool_records_one_node(backend):
    model = CNNS["winograd"]()
    y = model(cunn.tensor(rand(2, 16, 12, 12)))
    assert y.grad_fn.name() == "Conv2dReluPoolBackward"
    assert y.grad_fn.inputs[0].grad_fn.name() == "Conv2dReluPoolBackward"


def test_conv_relu_pool_training_is_the_same():
    results = []
    for forward in (lambda m, t: m(t), one_by_one):
        cunn.manual_seed(0)
        model = CNNS["mnist"]()
        optimizer = cunn.optim.Adam(model.parameters(), lr=1e-2)
        for step in range(3):
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(forward(model, cunn.tensor(rand(8, 1, 28, 28, seed=step))),
                                         cunn.tensor(np.arange(8) % 10))
            loss.backward()
            optimizer.step()
        results.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["pool-3", "pool-stride-1", "pool-padding", "no-pool",
                                  "tanh", "float64", "3-d", "hook", "output-1x1"])
def test_conv_relu_pool_falls_back_to_the_modules(case):
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    x = cunn.tensor(rand(2, 2, 8, 8))
    if case == "pool-3":
        model[2] = nn.MaxPool2d(3)
    elif case == "pool-stride-1":
        model[2] = nn.MaxPool2d(2, stride=1)
    elif case == "pool-padding":
        model[2] = nn.MaxPool2d(2, padding=1)
    elif case == "no-pool":
        model = nn.Sequential(model[0], model[1])
    elif case == "tanh":
        model[1] = nn.Tanh()
    elif case == "float64":
        with pytest.raises(TypeError, match="conv2d: input must be float32"):
            model(cunn.tensor(rand(2, 2, 8, 8).astype(np.float64), dtype=cunn.float64))
        return
    elif case == "3-d":
        with pytest.raises(ValueError, match="expected a 4-D input"):
            model(cunn.tensor(rand(2, 8, 8)))
        return
    elif case == "hook":
        model[1].register_forward_hook(lambda module, input, output: None)
    elif case == "output-1x1":
        # The convolution's 1x1 output is too small for the pool: max_pool2d's own error.
        with pytest.raises(ValueError, match="max_pool2d"):
            model(cunn.tensor(rand(2, 2, 3, 3)))
        return
    y = model(x)
    assert y.grad_fn.name() != "Conv2dReluPoolBackward"
    np.testing.assert_array_equal(y.numpy(), one_by_one(model, x).numpy())
