"""Module forward hooks and pre-hooks, with PyTorch's semantics (replacing input and
output, order, removal, with_kwargs), and nn.Sequential's fused Linear/ReLU path
running hooked children module by module so their hooks see every call."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_forward_hook_sees_input_and_output_and_can_replace_output():
    layer = nn.Linear(4, 3)
    seen = []
    handle = layer.register_forward_hook(
        lambda module, args, output: seen.append((module, args, output)))
    x = cunn.tensor(rand(2, 4))
    y = layer(x)
    assert len(seen) == 1 and seen[0][0] is layer and seen[0][1][0] is x and seen[0][2] is y
    replace = layer.register_forward_hook(lambda module, args, output: output * 2)
    np.testing.assert_allclose(layer(x).numpy(), 2 * y.numpy(), rtol=1e-6)
    replace.remove()
    handle.remove()
    np.testing.assert_array_equal(layer(x).numpy(), y.numpy())
    assert len(seen) == 2  # the removed hook ran no more


def test_pre_hook_can_replace_the_input_tuple_or_a_single_value():
    layer = nn.ReLU()
    handle = layer.register_forward_pre_hook(lambda module, args: -args[0])
    np.testing.assert_array_equal(layer(cunn.tensor([1.0, -2.0])).numpy(), [0.0, 2.0])
    handle.remove()
    handle = layer.register_forward_pre_hook(lambda module, args: (args[0] + 1,))
    np.testing.assert_array_equal(layer(cunn.tensor([1.0, -2.0])).numpy(), [2.0, 0.0])
    handle.remove()
    with layer.register_forward_pre_hook(lambda module, args: None):
        np.testing.assert_array_equal(layer(cunn.tensor([1.0, -2.0])).numpy(), [1.0, 0.0])
    assert not layer._forward_pre_hooks


def test_hooks_run_in_order_and_prepend_goes_first():
    layer = nn.Identity()
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("second"))
    layer.register_forward_hook(lambda m, a, o: order.append("first"), prepend=True)
    layer.register_forward_pre_hook(lambda m, a: order.append("pre"))
    layer(cunn.tensor([1.0]))
    assert order == ["pre", "first", "second"]


def test_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    module = Scale()
    module.register_forward_pre_hook(lambda m, args, kwargs: (args, {"factor": 3.0}),
                                     with_kwargs=True)
    calls = []
    module.register_forward_hook(lambda m, args, kwargs, output: calls.append(kwargs),
                                 with_kwargs=True)
    np.testing.assert_array_equal(module(cunn.tensor([2.0]), factor=5.0).numpy(), [6.0])
    assert calls == [{"factor": 3.0}]


def test_hooks_match_torch():
    torch = pytest.importorskip("torch")
    x = rand(3, 5)
    results = []
    for library, linear in ((cunn, nn.Linear), (torch, torch.nn.Linear)):
        layer = linear(5, 4)
        with (torch.no_grad() if library is torch else cunn.no_grad()):
            layer.weight.copy_(library.tensor(rand(4, 5, seed=1)))
            layer.bias.copy_(library.tensor(rand(4, seed=2)))
        layer.register_forward_pre_hook(lambda m, args: (args[0] * 0.5,))
        layer.register_forward_hook(lambda m, args, output: output + args[0].sum())
        results.append(layer(library.tensor(x)).detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-5)


def test_hooks_also_see_gradients_flow():
    layer = nn.Linear(3, 2)
    layer.register_forward_hook(lambda m, args, output: output * 3)
    x = cunn.tensor(rand(1, 3), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * layer.weight.numpy().sum(0, keepdims=True),
                               rtol=1e-6)


def test_a_hook_must_be_callable():
    with pytest.raises(TypeError, match="hook must be callable"):
        nn.ReLU().register_forward_hook(3)


@pytest.mark.parametrize("hooked", [0, 1, 2])
@pytest.mark.parametrize("kind", ["forward", "pre"])
def test_sequential_fusion_does_not_bypass_child_hooks(hooked, kind):
    """The MLP's Linear/ReLU run normally goes through one fused op; with a hook on any
    child, that child runs on its own and its hook sees its real input and output."""
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = cunn.tensor(rand(4, 6))
    expected = model(x).numpy()
    seen = []
    child = model[hooked]
    if kind == "forward":
        handle = child.register_forward_hook(
            lambda m, args, output: seen.append((args[0].numpy().copy(),
                                                 output.numpy().copy())))
    else:
        handle = child.register_forward_pre_hook(
            lambda m, args: seen.append((args[0].numpy().copy(), None)))
    np.testing.assert_array_equal(model(x).numpy(), expected)
    assert len(seen) == 1
    # The hook saw the child's actual input (and output): recompute them one by one.
    value = x
    for index, module in enumerate(model):
        if index == hooked:
            np.testing.assert_array_equal(seen[0][0], value.numpy())
        value = module.forward(value)
        if index == hooked and kind == "forward":
            np.testing.assert_array_equal(seen[0][1], value.numpy())
    handle.remove()
    model(x)
    assert len(seen) == 1


def test_sequential_hook_can_replace_a_childs_output():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = cunn.tensor(rand(2, 6))
    model[1].register_forward_hook(lambda m, args, output: output * 0)
    np.testing.assert_allclose(model(x).numpy(), np.broadcast_to(model[2].bias.numpy(),
                                                                 (2, 3)), rtol=1e-6)


def test_sequential_own_hook():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU())
    outputs = []
    model.register_forward_hook(lambda m, args, output: outputs.append(output))
    y = model(cunn.tensor(rand(2, 6)))
    assert outputs == [y]
