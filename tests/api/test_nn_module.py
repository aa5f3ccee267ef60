"""cunn.nn.Module and Parameter: registration, iteration, modes, state dicts, printing.

Names, orders and repr texts are PyTorch's (written out here, and compared with torch
itself when it happens to be installed).
"""
import collections
import copy

import numpy as np
import pytest

import cunn
import cunn.nn as nn
from cunn import optim


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x))


MLP_REPR = """MLP(
  (fc1): Linear(in_features=784, out_features=128, bias=True)
  (relu): ReLU()
  (fc2): Linear(in_features=128, out_features=10, bias=True)
)"""


# ---- Parameter ----

def test_parameter_is_a_tensor_sharing_the_given_storage():
    t = cunn.zeros(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, cunn.Tensor) and isinstance(p, nn.Parameter)
    assert p._data is t._data
    assert p.requires_grad is True
    assert p.grad is None
    array = np.ones((2,), np.float32)
    assert nn.Parameter(array)._data is array


def test_parameter_converts_other_floating_arrays_to_float32():
    p = nn.Parameter(np.ones((2, 2), np.float64))
    assert p.dtype == np.float32
    assert nn.Parameter([0.5, 1.5]).dtype == np.float32


def test_parameter_requires_grad_and_dtype_checks():
    assert nn.Parameter(np.ones(2, np.float32), requires_grad=False).requires_grad is False
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.arange(3))
    kept = nn.Parameter(np.arange(3), requires_grad=False)
    assert kept.dtype == np.int64
    with pytest.raises(TypeError, match="Parameter"):
        nn.Parameter("weights")
    assert nn.Parameter().shape == (0,)


def test_parameter_repr():
    text = repr(nn.Parameter(np.array([1.0, 2.0], np.float32)))
    assert text.startswith("Parameter containing:\n")
    assert "requires_grad=True" in text


def test_parameter_deepcopy_is_independent():
    p = nn.Parameter(np.ones(3, np.float32))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad
    q._data[0] = 5
    assert p._data[0] == 1


# ---- registration ----

def test_registration_order_and_names():
    model = MLP()
    assert [name for name, _ in model.named_parameters()] == \
        ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in model.named_children()] == ["fc1", "relu", "fc2"]
    assert [name for name, _ in model.named_modules()] == ["", "fc1", "relu", "fc2"]
    assert list(model.children()) == [model.fc1, model.relu, model.fc2]
    assert [p.shape for p in model.parameters()] == [(128, 784), (128,), (10, 128), (10,)]
    assert [name for name, _ in model.fc1.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in model.named_parameters(prefix="net")][0] == "net.fc1.weight"
    assert list(model.parameters(recurse=False)) == []


def test_plain_parameters_and_attribute_lookup():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.alpha = nn.Parameter(np.ones(1, np.float32))
            self.label = "plain"

    module = Scale()
    assert module._parameters["alpha"] is module.alpha
    assert "alpha" not in module.__dict__  # PyTorch keeps parameters out of __dict__
    assert module.label == "plain"
    with pytest.raises(AttributeError, match="'Scale' object has no attribute 'beta'"):
        module.beta  # noqa: B018


def test_reassignment_replaces_in_place_and_keeps_order():
    model = MLP()
    replacement = nn.Linear(784, 64)
    model.fc1 = replacement
    assert model.fc1 is replacement
    assert [name for name, _ in model.named_children()] == ["fc1", "relu", "fc2"]
    weight = nn.Parameter(np.zeros((10, 128), np.float32))
    model.fc2.weight = weight
    assert model.fc2.weight is weight
    assert [name for name, _ in model.fc2.named_parameters()] == ["weight", "bias"]


def test_assigning_none_to_registered_names():
    model = MLP()
    model.fc2.bias = None
    assert model.fc2.bias is None
    assert "fc2.bias" not in model.state_dict()
    assert "bias" in model.fc2._parameters
    model.relu = None
    assert model.relu is None
    assert [name for name, _ in model.named_children()] == ["fc1", "fc2"]
    assert "(relu): None" in repr(model)


def test_assigning_wrong_types_to_registered_names_is_a_type_error():
    model = MLP()
    with pytest.raises(TypeError, match="parameter 'weight'"):
        model.fc1.weight = cunn.zeros(128, 784)
    with pytest.raises(TypeError, match="child module 'fc1'"):
        model.fc1 = "not a module"


def test_an_attribute_changes_kind_when_reassigned():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.thing = 3

    module = M()
    module.thing = nn.Linear(1, 1)
    assert "thing" in module._modules and "thing" not in module.__dict__
    module.thing = None  # still a registered (empty) child slot, as in PyTorch
    assert module._modules["thing"] is None
    del module.thing
    module.thing = nn.Parameter(np.ones(1, np.float32))
    assert "thing" in module._parameters and "thing" not in module._modules


def test_assignment_before_init_is_an_attribute_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()

    class AlsoBroken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1, np.float32))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        AlsoBroken()


def test_forgotten_super_init_is_explained_on_lookup():
    class NoInit(nn.Module):
        def __init__(self):
            pass

    with pytest.raises(AttributeError, match="super"):
        NoInit().weight  # noqa: B018


def test_register_parameter_buffer_and_module_checks():
    module = nn.Module()
    module.register_parameter("w", nn.Parameter(np.ones(2, np.float32)))
    module.register_parameter("nothing", None)
    with pytest.raises(TypeError, match="Parameter or None"):
        module.register_parameter("x", cunn.ones(2))
    with pytest.raises(KeyError, match=r'"\."'):
        module.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty"):
        module.register_buffer("", None)
    with pytest.raises(TypeError, match="string"):
        module.add_module(3, nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        module.register_buffer("w", cunn.ones(2))
    with pytest.raises(KeyError, match="already exists"):
        module.add_module("train", nn.ReLU())
    with pytest.raises(TypeError, match="not a Module"):
        module.add_module("m", 3)
    module.add_module("m", nn.ReLU())
    module.register_module("n", None)
    assert list(module._modules) == ["m", "n"]


def test_buffers_persistent_and_not():
    module = nn.Module()
    module.register_buffer("running", cunn.zeros(3))
    module.register_buffer("scratch", np.ones(2, np.float32), persistent=False)
    assert isinstance(module.scratch, cunn.Tensor)
    assert [name for name, _ in module.named_buffers()] == ["running", "scratch"]
    assert list(module.state_dict()) == ["running"]
    module.running = np.full(3, 2.0, np.float32)  # a registered buffer takes arrays too
    assert isinstance(module.running, cunn.Tensor)
    assert module.state_dict()["running"].tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="buffer 'running'"):
        module.running = "text"
    module.running = None
    assert list(module.state_dict()) == []
    with pytest.raises(TypeError, match="buffer"):
        module.register_buffer("bad", [1, 2])


def test_delattr_removes_registered_names():
    model = MLP()
    del model.relu
    assert [name for name, _ in model.named_children()] == ["fc1", "fc2"]
    del model.fc1.bias
    assert [name for name, _ in model.fc1.named_parameters()] == ["weight"]
    model.note = 1
    del model.note
    with pytest.raises(AttributeError):
        del model.note


def test_dir_lists_registered_names():
    names = dir(MLP())
    assert {"fc1", "fc2", "relu", "forward", "state_dict"} <= set(names)
    assert "0" not in dir(nn.Sequential(nn.ReLU()))


def test_shared_parameters_and_modules_are_yielded_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(4, 4)
            self.decoder = nn.Linear(4, 4)
            self.decoder.weight = self.encoder.weight
            self.again = self.encoder

    model = Tied()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "decoder.bias"]
    assert len(list(model.parameters())) == 3
    assert [name for name, _ in model.named_modules()] == ["", "encoder", "decoder"]
    assert [name for name, _ in model.named_children()] == ["encoder", "decoder"]
    assert len(list(model.named_parameters(remove_duplicate=False))) == 6
    # state_dict lists every name, as PyTorch's does
    assert list(model.state_dict()) == ["encoder.weight", "encoder.bias", "decoder.weight",
                                        "decoder.bias", "again.weight", "again.bias"]


def test_forward_missing_names_the_module():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r"NoForward.*forward"):
        NoForward()(1)
    with pytest.raises(NotImplementedError, match="ModuleList"):
        nn.ModuleList([nn.ReLU()])(1)


def test_call_passes_arguments_to_forward():
    class Add(nn.Module):
        def forward(self, a, b=0, *, c=0):
            return a + b + c

    assert Add()(1, 2, c=3) == 6


def test_get_submodule_and_parameter():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert model.get_submodule("1.1") is model[1][1]
    assert model.get_submodule("") is model
    assert model.get_parameter("1.1.bias") is model[1][1].bias
    with pytest.raises(AttributeError, match="no submodule"):
        model.get_submodule("1.5")
    with pytest.raises(AttributeError, match="no parameter"):
        model.get_parameter("0.nothing")


# ---- modes, gradients, devices ----

def test_train_and_eval_are_recursive_and_return_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model[1][0].training
    with pytest.raises(ValueError, match="bool"):
        model.train("yes")


def test_train_calls_childrens_overrides():
    calls = []

    class Logged(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    nn.Sequential(Logged()).eval()
    assert calls == [False]


def _set_grads(model):
    for p in model.parameters():
        p.grad = cunn.ones(*p.shape)


def test_zero_grad():
    model = Tiny()
    _set_grads(model)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    _set_grads(model)
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    for p, grad in zip(model.parameters(), grads):
        assert p.grad is grad and not grad._data.any()


def test_requires_grad_and_apply():
    model = Tiny()
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Linear", "Tiny"]


def test_to_cpu_and_float32_return_self():
    model = Tiny()
    for target in ("cpu", "CPU".lower(), "cpu:0", cunn.device("cpu"), cunn.float32, "float32"):
        assert model.to(target) is model
    assert model.to(device="cpu", dtype=cunn.float32) is model
    assert model.to("cpu", non_blocking=True) is model
    assert model.cpu() is model and model.float() is model


@pytest.mark.parametrize("target", ["tpu", cunn.float64, cunn.int64, 3])
def test_to_anything_else_is_a_value_error(target):
    with pytest.raises(ValueError):
        Tiny().to(target)


@pytest.mark.skipif("cunn.cuda.is_available()", reason="a GPU is present")
@pytest.mark.parametrize("target", ["cuda", "cuda:0", cunn.device("cuda")])
def test_to_cuda_without_cuda_is_a_runtime_error(target):
    model = Tiny()
    weight = model.fc1.weight
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        model.to(target)
    assert model.fc1.weight is weight and weight.device == cunn.device("cpu")


def test_other_precisions_are_a_value_error():
    with pytest.raises(ValueError, match="float32"):
        Tiny().double()
    with pytest.raises(ValueError, match="float32"):
        Tiny().half()


def test_pickle_round_trip():
    import pickle

    model = nn.Sequential(Tiny(), nn.Dropout(0.1))
    model.register_buffer("steps", cunn.zeros(1))
    model.eval()
    clone = pickle.loads(pickle.dumps(model))
    assert repr(clone) == repr(model) and not clone.training
    assert isinstance(clone[0].fc1.weight, nn.Parameter) and clone[0].fc1.weight.requires_grad
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(clone.state_dict()[key], value)


@pytest.mark.skipif("cunn.cuda.is_available()", reason="a GPU is present")
def test_cuda_without_cuda_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="'cuda'.*CUDA is not available"):
        Tiny().cuda()


def test_deepcopy_gives_independent_parameters():
    model = Tiny()
    clone = copy.deepcopy(model)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]
    clone.fc1.weight._data[...] = 0
    assert model.fc1.weight._data.any()
    assert isinstance(clone.fc1.weight, nn.Parameter)


# ---- state dicts ----

def test_state_dict_keys_shapes_and_order():
    state = MLP().state_dict()
    assert isinstance(state, collections.OrderedDict)
    assert [(key, value.shape) for key, value in state.items()] == [
        ("fc1.weight", (128, 784)), ("fc1.bias", (128,)),
        ("fc2.weight", (10, 128)), ("fc2.bias", (10,))]
    assert all(type(value) is cunn.Tensor and value.dtype == np.float32
               for value in state.values())


def test_state_dict_values_share_the_parameters_storage():
    model = Tiny()
    state = model.state_dict()
    assert state["fc1.weight"].numpy() is model.fc1.weight._data
    assert not state["fc1.weight"].requires_grad and state["fc1.weight"].grad_fn is None
    state["fc1.bias"][0] = 42.0
    assert model.fc1.bias._data[0] == 42.0
    kept = model.state_dict(keep_vars=True)
    assert kept["fc2.weight"] is model.fc2.weight


def test_state_dict_values_clone_and_load_back_as_in_pytorch():
    model = Tiny()
    snapshot = {key: value.clone() for key, value in model.state_dict().items()}
    with cunn.no_grad():
        model.fc1.weight.fill_(3.0)
    assert not np.array_equal(model.fc1.weight.numpy(), snapshot["fc1.weight"].numpy())
    model.load_state_dict(snapshot)
    np.testing.assert_array_equal(model.fc1.weight.numpy(), snapshot["fc1.weight"].numpy())
    copied = copy.deepcopy(model.state_dict())
    copied["fc1.bias"][0] = -7.0
    assert model.fc1.bias._data[0] != -7.0
    model.load_state_dict({key: value.numpy() for key, value in copied.items()})
    assert model.fc1.bias._data[0] == -7.0


def test_state_dict_names_for_containers_and_data_parallel():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4))
            self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4, bias=False)])
            self.heads = nn.ModuleDict({"task1": nn.Linear(4, 1), "task2": nn.Linear(4, 2)})

    model = Net()
    keys = list(model.state_dict())
    assert keys == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                    "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                    "heads.task1.weight", "heads.task1.bias", "heads.task2.weight",
                    "heads.task2.bias"]
    wrapped = nn.DataParallel(model)
    assert list(wrapped.state_dict()) == ["module." + key for key in keys]
    assert list(nn.Sequential(nn.Linear(1, 1)).state_dict()) == ["0.weight", "0.bias"]


def test_load_state_dict_round_trip_writes_into_existing_arrays():
    source, target = Tiny(), Tiny()
    arrays = [p._data for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for p, array, q in zip(target.parameters(), arrays, source.parameters()):
        assert p._data is array
        np.testing.assert_array_equal(p._data, q._data)
    # a copy, not an alias of the source's storage
    source.fc1.weight._data[...] = 7
    assert not (target.fc1.weight._data == 7).all()


def test_an_optimizer_made_before_loading_updates_the_loaded_values():
    model = Tiny()
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    loaded = {key: np.full(value.shape, 1.0, np.float32)
              for key, value in Tiny().state_dict().items()}
    model.load_state_dict(loaded)
    for p in model.parameters():
        p.grad = cunn.ones(*p.shape)
    optimizer.step()
    for p in model.parameters():
        np.testing.assert_allclose(p._data, 0.5)


def test_load_state_dict_accepts_tensors_and_converts_dtypes():
    model = Tiny()
    state = {key: cunn.tensor(np.full(value.shape, 2.0), dtype=cunn.float64)
             for key, value in model.state_dict().items()}
    model.load_state_dict(state)
    assert model.fc1.weight.dtype == np.float32
    np.testing.assert_array_equal(model.fc1.weight._data, 2.0)
    model.load_state_dict({key: np.zeros(v.shape, np.int64)
                           for key, v in model.state_dict().items()})
    assert model.fc2.bias.dtype == np.float32 and not model.fc2.bias._data.any()


def test_load_state_dict_strict_rejects_missing_and_unexpected_keys():
    model = Tiny()
    state = model.state_dict()
    before = model.fc1.weight._data.copy()
    partial = {key: np.zeros_like(value) for key, value in state.items() if key != "fc2.bias"}
    with pytest.raises(ValueError, match=r'Missing key\(s\).*"fc2\.bias"'):
        model.load_state_dict(partial)
    extra = {key: np.zeros_like(value) for key, value in state.items()}
    extra["fc3.weight"] = np.zeros((1, 1), np.float32)
    with pytest.raises(ValueError, match=r'Unexpected key\(s\).*"fc3\.weight"'):
        model.load_state_dict(extra)
    with pytest.raises(ValueError, match="for Tiny"):
        model.load_state_dict(extra)
    # nothing was written by the failed loads
    np.testing.assert_array_equal(model.fc1.weight._data, before)


def test_load_state_dict_non_strict_reports_keys():
    model = Tiny()
    state = {key: np.zeros_like(value) for key, value in model.state_dict().items()}
    del state["fc1.bias"]
    state["extra"] = np.zeros(2, np.float32)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc1.bias"]
    assert result.unexpected_keys == ["extra"]
    missing, unexpected = result
    assert (missing, unexpected) == (["fc1.bias"], ["extra"])
    assert "missing_keys=['fc1.bias']" in repr(result)
    assert not model.fc1.weight._data.any()  # the present keys were loaded
    assert model.fc1.bias._data.any()


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_rejects_a_wrong_shape_naming_key_and_shapes(strict):
    model = Tiny()
    state = {key: np.zeros_like(value) for key, value in model.state_dict().items()}
    state["fc1.weight"] = np.zeros((4, 5), np.float32)
    before = model.fc2.weight._data.copy()
    with pytest.raises(ValueError, match=r"fc1\.weight.*\(4, 5\).*\(4, 3\)"):
        model.load_state_dict(state, strict=strict)
    np.testing.assert_array_equal(model.fc2.weight._data, before)


def test_load_state_dict_rejects_non_numeric_values():
    model = Tiny()
    state = dict(model.state_dict())
    state["fc1.bias"] = np.array(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"fc1\.bias"):
        model.load_state_dict(state)
    with pytest.raises(TypeError, match="dict"):
        model.load_state_dict([1, 2])


def test_load_state_dict_into_buffers():
    module = nn.Module()
    module.register_buffer("count", cunn.tensor(np.zeros((), np.int64)))
    module.register_buffer("tmp", cunn.zeros(2), persistent=False)
    result = module.load_state_dict({"count": np.array(5)})
    assert module.count.item() == 5 and result.missing_keys == []
    with pytest.raises(ValueError, match="tmp"):
        module.load_state_dict({"count": np.array(1), "tmp": np.zeros(2)})
    with pytest.raises(ValueError, match="count"):
        module.load_state_dict({"count": np.array(1.5)})  # float into an int64 buffer


def test_data_parallel_checkpoints_move_the_pytorch_way():
    plain = Tiny()
    wrapped = nn.DataParallel(Tiny())
    wrapped.module.load_state_dict(plain.state_dict())
    wrapped.load_state_dict({"module." + k: v for k, v in plain.state_dict().items()})
    with pytest.raises(ValueError, match="Missing"):
        wrapped.load_state_dict(plain.state_dict())
    np.testing.assert_array_equal(wrapped.module.fc2.weight._data, plain.fc2.weight._data)


def test_state_dict_round_trips_through_save_and_load(tmp_path):
    model = MLP()
    path = tmp_path / "model.ckpt"
    cunn.save(model.state_dict(), str(path))
    restored = MLP()
    restored.load_state_dict(cunn.load(str(path)))
    for (name, p), (_, q) in zip(model.named_parameters(), restored.named_parameters()):
        np.testing.assert_array_equal(p._data, q._data, err_msg=name)


# ---- printing ----

def test_repr_matches_pytorch_text():
    assert repr(MLP()) == MLP_REPR
    assert repr(nn.Module()) == "Module()"
    assert repr(nn.Sequential()) == "Sequential()"


def test_repr_of_the_mnist_cnn():
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10))
    assert repr(model) == """Sequential(
  (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (1): ReLU()
  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (3): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (4): ReLU()
  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (6): Flatten(start_dim=1, end_dim=-1)
  (7): Linear(in_features=3136, out_features=128, bias=True)
  (8): ReLU()
  (9): Dropout(p=0.25, inplace=False)
  (10): Linear(in_features=128, out_features=10, bias=True)
)"""


def test_repr_of_nested_containers():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU())
            self.heads = nn.ModuleDict({"digit": nn.Linear(256, 10),
                                        "parity": nn.Linear(256, 2)})
            self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)] + [nn.Tanh()])

    assert repr(TwoHeads()) == """TwoHeads(
  (trunk): Sequential(
    (0): Flatten(start_dim=1, end_dim=-1)
    (1): Linear(in_features=784, out_features=256, bias=True)
    (2): ReLU()
  )
  (heads): ModuleDict(
    (digit): Linear(in_features=256, out_features=10, bias=True)
    (parity): Linear(in_features=256, out_features=2, bias=True)
  )
  (blocks): ModuleList(
    (0-2): 3 x Linear(in_features=8, out_features=8, bias=True)
    (3): Tanh()
  )
)"""
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert repr(nn.DataParallel(nn.Linear(2, 1))) == \
        "DataParallel(\n  (module): Linear(in_features=2, out_features=1, bias=True)\n)"


def test_multi_line_extra_repr_with_children():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.ReLU())

        def extra_repr(self):
            return "width=4\ndepth=2"

    assert repr(Block()) == """Block(
  width=4
  depth=2
  (inner): Sequential(
    (0): ReLU()
  )
)"""


def test_repr_equals_torchs_when_installed():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(3, 8, (3, 5), stride=2, bias=False), nn.MaxPool2d(3, 1, 1),
                         nn.Flatten(), nn.Linear(8, 2), nn.LeakyReLU(0.2), nn.Softmax(dim=1),
                         nn.ModuleList([nn.Tanh(), nn.Tanh(), nn.Sigmoid()]),
                         nn.ModuleDict({"a": nn.Identity()}), nn.CrossEntropyLoss())
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, (3, 5), stride=2, bias=False), torch.nn.MaxPool2d(3, 1, 1),
        torch.nn.Flatten(), torch.nn.Linear(8, 2), torch.nn.LeakyReLU(0.2),
        torch.nn.Softmax(dim=1),
        torch.nn.ModuleList([torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.Sigmoid()]),
        torch.nn.ModuleDict({"a": torch.nn.Identity()}), torch.nn.CrossEntropyLoss())
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
