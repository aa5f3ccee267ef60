"""In-place changes between forward and backward: backward raises instead of giving
wrong gradients (a version counter per tensor, as in PyTorch), and only where the
backward reads the changed values. PyTorch is the oracle for which changes are refused."""
import numpy as np
import pytest

import cunn


def _lib_case_weight_of_a_linear(lib):
    layer = lib.nn.Linear(3, 2)
    loss = layer(lib.ones(4, 3)).sum()
    with lib.no_grad():
        layer.weight.mul_(2)
    return loss


def _lib_case_weight_of_a_linear_whose_input_needs_grad(lib):
    layer = lib.nn.Linear(3, 2)
    loss = layer(lib.ones(4, 3, requires_grad=True)).sum()
    with lib.no_grad():
        layer.weight.mul_(2)
    return loss


def _lib_case_every_parameter_of_an_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        for parameter in model.parameters():
            parameter.mul_(2)
    return loss


def _lib_case_every_parameter_of_an_unfused_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Tanh(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        for parameter in model.parameters():
            parameter.mul_(2)
    return loss


def _lib_case_first_weight_of_a_deeper_mlp_with_input_grad(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 4),
                              lib.nn.ReLU(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5, requires_grad=True)).sum()
    with lib.no_grad():
        model[0].weight.mul_(2)
    return loss


def _lib_case_middle_weight_of_a_deeper_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 4),
                              lib.nn.ReLU(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        model[2].weight.mul_(2)
    return loss


def _lib_case_bias_of_a_linear(lib):
    layer = lib.nn.Linear(3, 2)
    loss = layer(lib.ones(4, 3)).sum()
    with lib.no_grad():
        layer.bias.add_(1)
    return loss


def _lib_case_input_of_a_linear(lib):
    layer = lib.nn.Linear(3, 2)
    x = lib.ones(4, 3)
    loss = layer(x).sum()
    x.zero_()
    return loss


def _lib_case_first_weight_of_an_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        model[0].weight.mul_(2)
    return loss


def _lib_case_last_weight_of_an_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        model[2].weight.fill_(0.5)
    return loss


def _lib_case_weight_of_an_unfused_mlp(lib):
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Sigmoid(), lib.nn.Linear(4, 3))
    loss = model(lib.ones(2, 5)).sum()
    with lib.no_grad():
        model[0].weight.uniform_(-1, 1)
    return loss


def _lib_case_optimizer_step_before_backward(lib):
    model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Sigmoid(), lib.nn.Linear(2, 2))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    model(lib.ones(4, 3)).sum().backward()
    loss = model(lib.ones(4, 3)).sum()
    optimizer.step()
    return loss


def _lib_case_operand_of_an_add(lib):
    a = lib.ones(3, requires_grad=True)
    b = lib.ones(3, requires_grad=True)
    loss = (a + b).sum()
    with lib.no_grad():
        a.mul_(2)
    return loss


def _lib_case_operand_of_a_mul(lib):
    a = lib.ones(3, requires_grad=True)
    b = lib.ones(3)
    loss = (a * b).sum()
    b.copy_(lib.zeros(3))
    return loss


def _lib_case_result_of_exp(lib):
    a = lib.ones(3, requires_grad=True)
    y = a.exp()
    with lib.no_grad():
        y.mul_(2)
    return y.sum()


def _lib_case_result_of_sigmoid(lib):
    a = lib.ones(3, requires_grad=True)
    y = a.sigmoid()
    with lib.no_grad():
        y[0] = 5.0
    return y.sum()


def _lib_case_through_detach(lib):
    layer = lib.nn.Linear(3, 2)
    loss = layer(lib.ones(4, 3, requires_grad=True)).sum()
    layer.weight.detach().zero_()
    return loss


def _lib_case_through_data(lib):
    layer = lib.nn.Linear(3, 2)
    loss = layer(lib.ones(4, 3, requires_grad=True)).sum()
    layer.weight.data.zero_()  # .data escapes the check, as in PyTorch
    return loss


def _lib_case_conv2d_weight(lib):
    conv = lib.nn.Conv2d(2, 3, 3)
    loss = conv(lib.ones(1, 2, 5, 5, requires_grad=True)).sum()
    with lib.no_grad():
        conv.weight.mul_(2)
    return loss


def _lib_case_conv2d_input(lib):
    conv = lib.nn.Conv2d(2, 3, 3)
    x = lib.ones(1, 2, 5, 5)
    loss = conv(x).sum()
    x.mul_(2)
    return loss


def _lib_case_through_a_view(lib):
    a = lib.ones(2, 3, requires_grad=True)
    x = lib.ones(3, 2)
    loss = (a @ x).sum()
    x.reshape(-1).mul_(3)
    return loss


def _lib_case_labels_of_cross_entropy(lib):
    logits = lib.ones(2, 3, requires_grad=True)
    labels = lib.tensor([0, 2])
    loss = lib.nn.functional.cross_entropy(logits, labels)
    labels.fill_(1)
    return loss


def _lib_case_logits_of_cross_entropy(lib):
    logits = lib.ones(2, 3, requires_grad=True)
    loss = lib.nn.functional.cross_entropy(logits, lib.tensor([0, 2]))
    with lib.no_grad():
        logits.mul_(2)
    return loss


CASES = {name[len("_lib_case_"):]: value for name, value in globals().items()
         if name.startswith("_lib_case_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_refuses_exactly_where_pytorch_does(backend, case):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    try:
        CASES[case](torch).backward()
        torch_raises = False
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        torch_raises = True
    cunn.manual_seed(0)
    loss = CASES[case](cunn)
    if torch_raises:
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            loss.backward()
    else:
        loss.backward()


def test_the_error_names_the_changed_tensor():
    layer = cunn.nn.Linear(784, 10)
    loss = layer(cunn.ones(2, 784, requires_grad=True)).sum()
    with cunn.no_grad():
        layer.weight.mul_(2)
    with pytest.raises(RuntimeError, match=r"input 1 of LinearBackward \(a float32 tensor of "
                                           r"shape \(10, 784\)\) was changed after the "
                                           r"forward pass"):
        loss.backward()
    y = cunn.ones(3, requires_grad=True).exp()
    with cunn.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="the output of ExpBackward was changed"):
        y.sum().backward()


def test_a_refused_backward_leaves_the_gradients_untouched(backend):
    model = cunn.nn.Sequential(cunn.nn.Linear(5, 4), cunn.nn.ReLU(), cunn.nn.Linear(4, 3))
    loss = model(cunn.ones(2, 5)).sum()
    with cunn.no_grad():
        model[2].weight.mul_(2)
    with pytest.raises(RuntimeError):
        loss.backward()
    assert all(p.grad is None for p in model.parameters())


def test_training_steps_and_changes_after_backward_are_fine(backend):
    cunn.manual_seed(0)
    model = cunn.nn.Sequential(cunn.nn.Linear(5, 4), cunn.nn.ReLU(), cunn.nn.Linear(4, 3))
    optimizer = cunn.optim.Adam(model.parameters(), lr=0.01)
    x, y = cunn.randn(8, 5), cunn.tensor(np.arange(8) % 3)
    for _ in range(3):
        optimizer.zero_grad()
        loss = cunn.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        with cunn.no_grad():
            model[0].weight.mul_(0.5)
    # a graph kept across a change is still refused on its second pass
    loss = model(x).sum()
    loss.backward(retain_graph=True)
    with cunn.no_grad():
        model[2].bias.add_(1)  # not read by the backward
    loss.backward(retain_graph=True)
    with cunn.no_grad():
        model[2].weight.add_(1)  # read for the first layer's gradient
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_every_in_place_method_stamps_the_tensor():
    t = cunn.zeros(2, 3)
    methods = [lambda: t.add_(1), lambda: t.sub_(1), lambda: t.mul_(2), lambda: t.div_(2),
               lambda: t.zero_(), lambda: t.fill_(3), lambda: t.copy_(cunn.ones(2, 3)),
               lambda: t.normal_(), lambda: t.uniform_(), lambda: t.__setitem__(0, 1.0),
               lambda: t.__iadd__(1), lambda: cunn.nn.init.zeros_(t)]
    stamps = [t._version[0]]
    for method in methods:
        method()
        stamps.append(t._version[0])
    assert all(later > earlier for earlier, later in zip(stamps, stamps[1:]))
    assert t.detach()._version is t._version
    assert t.reshape(-1)._version is t._version and t[0]._version is t._version
    assert t.data._version is not t._version  # PyTorch's .data escapes the check
    assert (t + 1)._version is not t._version


def test_an_optimizer_step_marks_only_the_parameters_it_updates():
    frozen, trained = cunn.nn.Linear(3, 2), cunn.nn.Linear(2, 2)
    optimizer = cunn.optim.SGD(list(frozen.parameters()) + list(trained.parameters()), lr=0.1)
    x = cunn.ones(4, 3, requires_grad=True)
    loss = trained(frozen(x)).sum()
    stamps = [p._version[0] for p in frozen.parameters()]
    for p in trained.parameters():
        p.grad = cunn.ones_like(p)
    optimizer.step()
    assert [p._version[0] for p in frozen.parameters()] == stamps
    with pytest.raises(RuntimeError, match="LinearBackward"):
        loss.backward()  # trained.weight, read for frozen's gradient, was stepped
