"""Modules, optimizers and checkpoints on the simulated GPU: Module.to moves parameters,
gradients and buffers in place; optimizers made before .to() step GPU parameters with GPU
state and agree with the same steps on the CPU; state dicts and cunn.save/load of GPU
models (map_location)."""
import copy
import io

import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.optim as optim
from cunn._backends.cuda.array import DeviceArray

CUDA = cunn.device("cuda:0")


def host(tensor):
    return tensor.cpu().numpy()


def small_net():
    return nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3))


def test_module_to_moves_parameters_buffers_and_grads_in_place():
    cunn.manual_seed(0)
    model = small_net()
    params = list(model.parameters())
    values = [p.numpy().copy() for p in params]
    model(cunn.randn(4, 5)).sum().backward()
    grads = [p.grad.numpy().copy() for p in params]
    buffer = model[1].running_mean
    assert model.to("cuda") is model
    assert list(model.parameters()) == params  # the same Parameter objects
    assert all(isinstance(p, nn.Parameter) and p.is_cuda and p.requires_grad for p in params)
    assert all(p.grad.is_cuda for p in params)
    assert model[1].running_mean is buffer and buffer.is_cuda
    assert model[1].num_batches_tracked.is_cuda
    for param, value, grad in zip(params, values, grads):
        np.testing.assert_array_equal(host(param), value)
        np.testing.assert_array_equal(host(param.grad), grad)
    assert model.cpu() is model and not any(p.is_cuda for p in params)
    assert all(not p.grad.is_cuda for p in params) and not buffer.is_cuda
    np.testing.assert_array_equal(params[0].numpy(), values[0])
    assert model.cuda() is model and params[0].device == CUDA
    assert model.cuda(0) is model and model.to(device="cuda", dtype=cunn.float32) is model
    assert model.to(cunn.ones(1)) is model and not params[0].is_cuda  # a tensor's device


def test_module_to_refuses_other_dtypes_before_moving():
    model = small_net()
    with pytest.raises(ValueError, match="float32"):
        model.to("cuda", cunn.float64)


def test_shared_parameters_move_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    model.cuda()
    assert layer.weight.is_cuda and model[0].weight is model[2].weight


def test_state_dict_of_a_gpu_model_and_loading_across_devices():
    cunn.manual_seed(1)
    source = small_net().cuda()
    state = source.state_dict()
    assert all(value.is_cuda for value in state.values())
    target = small_net()
    target.load_state_dict(state)  # GPU tensors into a CPU model
    for key, value in target.state_dict().items():
        assert not value.is_cuda
        np.testing.assert_array_equal(value.numpy(), host(state[key]))
    gpu_target = small_net().cuda()
    weight = gpu_target[0].weight
    gpu_target.load_state_dict(target.state_dict())  # CPU tensors into a GPU model
    assert gpu_target[0].weight is weight and weight.is_cuda
    np.testing.assert_array_equal(host(weight), target[0].weight.numpy())
    with pytest.raises(ValueError, match="size mismatch for 0.weight"):
        gpu_target.load_state_dict({**target.state_dict(), "0.weight": cunn.zeros(2, 2)})


def test_save_and_load_a_gpu_model(tmp_path):
    cunn.manual_seed(2)
    model = small_net().cuda()
    path = tmp_path / "model.cunn"
    cunn.save(model.state_dict(), path)
    on_cpu = cunn.load(path)
    assert all(not value.is_cuda for value in on_cpu.values())
    for location in ("cuda", "cuda:0", CUDA, {"cpu": "cuda:0"}):
        loaded = cunn.load(path, map_location=location)
        assert all(value.is_cuda for value in loaded.values())
    buffer = io.BytesIO()
    cunn.save({"nested": [model[0].weight, (model[3].bias, 3)]}, buffer)
    buffer.seek(0)
    loaded = cunn.load(buffer, map_location="cuda")
    assert loaded["nested"][1][1] == 3 and loaded["nested"][0].is_cuda
    np.testing.assert_array_equal(host(loaded["nested"][0]), host(model[0].weight))
    fresh = small_net().cuda()
    fresh.load_state_dict(cunn.load(path, map_location="cuda"))
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(host(value), on_cpu[key].numpy())


OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adadelta, dict(lr=1.0)),
    (optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("cls, settings", OPTIMIZERS,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(OPTIMIZERS)])
def test_optimizer_made_before_to_steps_gpu_parameters_as_on_the_cpu(cls, settings):
    cunn.manual_seed(3)
    cpu_model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    gpu_model = copy.deepcopy(cpu_model)
    cpu_optimizer = cls(cpu_model.parameters(), **settings)
    gpu_optimizer = cls(gpu_model.parameters(), **settings)
    gpu_model.to("cuda")  # after the optimizer was made (Adagrad has filled its state)
    inputs = cunn.randn(5, 6)
    for _ in range(3):
        for model, optimizer, device in ((cpu_model, cpu_optimizer, "cpu"),
                                         (gpu_model, gpu_optimizer, "cuda")):
            optimizer.zero_grad()
            (model(inputs.to(device)) ** 2).mean().backward()
            optimizer.step()
    for cpu_param, gpu_param in zip(cpu_model.parameters(), gpu_model.parameters()):
        assert gpu_param.is_cuda
        np.testing.assert_allclose(host(gpu_param), cpu_param.numpy(), rtol=1e-5, atol=1e-6)
    stateless = cls is optim.SGD and not settings.get("momentum")
    for param in gpu_model.parameters():
        arrays = [value for value in gpu_optimizer.state[param].values()
                  if not isinstance(value, (int, float))]
        assert (arrays == []) if stateless else \
            (arrays and all(isinstance(value, DeviceArray) for value in arrays))


def test_zero_grad_in_place_on_the_gpu():
    model = nn.Linear(3, 2).cuda()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    model(cunn.ones(1, 3, device="cuda")).sum().backward()
    grad = model.weight.grad
    optimizer.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and grad.is_cuda
    np.testing.assert_array_equal(host(grad), np.zeros((2, 3)))
    model(cunn.ones(1, 3, device="cuda")).sum().backward()
    model.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(host(model.weight.grad), np.zeros((2, 3)))
    optimizer.zero_grad()
    assert model.weight.grad is None


def test_optimizer_state_dict_is_host_and_loads_back_onto_the_gpu(tmp_path):
    cunn.manual_seed(4)
    model = nn.Linear(4, 2).cuda()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    model(cunn.randn(3, 4, device="cuda")).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    assert isinstance(state["state"][0]["exp_avg"], np.ndarray)
    cunn.save(state, tmp_path / "optimizer")
    restored = optim.Adam(model.parameters(), lr=0.01)
    restored.load_state_dict(cunn.load(tmp_path / "optimizer"))
    exp_avg = restored.state[model.weight]["exp_avg"]
    assert isinstance(exp_avg, DeviceArray)
    np.testing.assert_array_equal(exp_avg.get(), state["state"][0]["exp_avg"])
    model(cunn.randn(3, 4, device="cuda")).sum().backward()
    restored.step()
    assert restored.state[model.weight]["step"] == 2


def test_a_group_on_two_devices_is_refused():
    first, second = nn.Linear(2, 2), nn.Linear(2, 2).cuda()
    optimizer = optim.SGD([*first.parameters(), *second.parameters()], lr=0.1)
    first(cunn.ones(1, 2)).sum().backward()
    second(cunn.ones(1, 2, device="cuda")).sum().backward()
    with pytest.raises(RuntimeError, match="SGD.step: expected all tensors to be on the same "
                                           "device"):
        optimizer.step()


def test_module_and_input_on_different_devices():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).cuda()
    with pytest.raises(RuntimeError, match="linear: expected all tensors to be on the same "
                                           "device, found cpu and cuda:0"):
        model(cunn.ones(2, 4))
    conv = nn.Conv2d(1, 2, 3).cuda()
    with pytest.raises(RuntimeError, match="conv2d: .*same device"):
        conv(cunn.ones(1, 1, 5, 5))


def test_optimizer_state_follows_the_model_between_devices():
    model = nn.Linear(3, 2)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for device in ("cuda", "cpu", "cuda"):
        model.to(device)
        optimizer.zero_grad()
        model(cunn.ones(2, 3, device=device)).sum().backward()
        optimizer.step()
        state = optimizer.state[model.weight]
        on_gpu = device == "cuda"
        assert isinstance(state["exp_avg"], DeviceArray) == on_gpu
        assert isinstance(state["exp_avg_sq"], DeviceArray) == on_gpu
    assert optimizer.state[model.weight]["step"] == 3


def test_deepcopy_and_pickle_of_gpu_models_copy_device_memory():
    import pickle

    model = small_net().cuda()
    model(cunn.randn(4, 5, device="cuda")).sum().backward()
    clone = copy.deepcopy(model)
    for original, copied in zip(model.parameters(), clone.parameters()):
        assert isinstance(copied, nn.Parameter) and copied.is_cuda
        assert copied._data.ptr != original._data.ptr  # a block of its own
        assert copied.grad.is_cuda and copied.grad._data.ptr != original.grad._data.ptr
        np.testing.assert_array_equal(host(copied), host(original))
    clone[0].weight.data.zero_()
    assert host(model[0].weight).any()
    restored = pickle.loads(pickle.dumps(model))
    assert restored[1].running_var.is_cuda
    for key, value in restored.state_dict().items():
        assert value.is_cuda and value._data.ptr != model.state_dict()[key]._data.ptr
        np.testing.assert_array_equal(host(value), host(model.state_dict()[key]))
    assert nn.Parameter(cunn.ones(2, device="cuda")).is_cuda


def test_safetensors_of_a_gpu_model(tmp_path):
    pytest.importorskip("safetensors")
    model = small_net().cuda()
    cunn.save(model.state_dict(), tmp_path / "model.safetensors")
    loaded = cunn.load(tmp_path / "model.safetensors", map_location="cuda")
    for key, value in model.state_dict().items():
        assert loaded[key].is_cuda
        np.testing.assert_array_equal(host(loaded[key]), host(value))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0, 0.0])
def test_clip_grad_norm_on_the_gpu_as_on_the_cpu(norm_type):
    cunn.manual_seed(6)
    cpu_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    gpu_model = copy.deepcopy(cpu_model).cuda()
    inputs = cunn.randn(6, 4)
    totals = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        (model(inputs.to(device)) ** 2).sum().backward()
        totals.append(nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type))
    assert totals[1].is_cuda
    np.testing.assert_allclose(totals[1].item(), totals[0].item(), rtol=1e-5)
    for cpu_param, gpu_param in zip(cpu_model.parameters(), gpu_model.parameters()):
        np.testing.assert_allclose(host(gpu_param.grad), cpu_param.grad.numpy(), rtol=1e-5,
                                   atol=1e-7)
    nn.utils.clip_grad_value_(gpu_model.parameters(), 0.01)
    assert all(np.abs(host(p.grad)).max() <= 0.01 for p in gpu_model.parameters())
