"""Device tensors for the user, on the simulated GPU (conftest.py installs it): .to/.cuda/.cpu,
device attributes, factories' device=, autograd across devices, mixed-device errors,
in-place writes, cunn.cuda's functions and the "cuda" backend as the default device."""
import numpy as np
import pytest

import cunn
import cunn.nn.functional as F
from cunn._backends.cuda.array import DeviceArray

CUDA = cunn.device("cuda:0")


def host(tensor):
    return tensor.cpu().numpy()


@pytest.mark.parametrize("values", [np.arange(7, dtype=np.float32) / 3,
                                    np.arange(-3, 9, dtype=np.int64).reshape(3, 4),
                                    np.array([True, False, True]),
                                    np.float32(2.5) * np.ones(()),
                                    np.zeros((0, 5), np.float32)])
def test_round_trip_keeps_values_dtype_and_shape(values):
    t = cunn.tensor(values)
    g = t.to("cuda")
    assert isinstance(g._data, DeviceArray) and g.is_cuda and not t.is_cuda
    assert g.dtype == t.dtype and g.shape == t.shape
    back = g.cpu()
    assert isinstance(back._data, np.ndarray) and back.device == cunn.device("cpu")
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    assert back.numpy() is not t.numpy()  # a copy came back, not the original


def test_to_returns_self_when_nothing_changes():
    t = cunn.randn(3)
    g = t.cuda()
    assert t.to("cpu") is t and t.cpu() is t
    assert g.to("cuda") is g and g.cuda() is g and g.to(CUDA) is g and g.to("cuda:0") is g
    assert g.to(cunn.float32) is g and g.to("cuda", cunn.float32) is g
    assert g.to(g) is g and t.to(t) is t
    copied = g.to("cuda", copy=True)
    assert copied is not g and copied.is_cuda
    np.testing.assert_array_equal(host(copied), host(g))


def test_to_takes_pytorch_forms():
    t = cunn.tensor([1.5, -2.0, 3.0])
    assert t.to(device="cuda").device == CUDA
    assert t.to(0).device == CUDA  # a bare int is a GPU index, as in PyTorch
    assert t.to(CUDA, cunn.int64).dtype == cunn.int64
    g = t.to("cuda", dtype=cunn.int64)
    assert g.is_cuda and g.dtype == cunn.int64 and g.tolist() == [1, -2, 3]
    like = cunn.zeros(2, dtype=cunn.int64, device="cuda")
    moved = t.to(like)
    assert moved.is_cuda and moved.dtype == cunn.int64
    # to the CPU and to float64 at once: moved first, then cast on the host
    assert t.cuda().to("cpu", cunn.float64).dtype == cunn.float64
    with pytest.raises(TypeError, match="unexpected keyword"):
        t.to("cuda", devices="cuda")


def test_float64_is_refused_on_the_gpu_with_the_fix():
    with pytest.raises(TypeError, match=r"to: CUDA tensors hold float32.*float64.*\.float\(\)"):
        cunn.tensor([1.0], dtype=cunn.float64).to("cuda")
    with pytest.raises(TypeError, match="float64"):
        cunn.tensor([1.0]).cuda().to(cunn.float64)


def test_device_attributes_and_repr():
    g = cunn.tensor([[1.0, 2.0]], device="cuda")
    assert g.device == CUDA and g.device == "cuda:0" and str(g.device) == "cuda:0"
    assert g.device.type == "cuda" and g.device.index == 0
    assert g.is_cuda and not cunn.tensor(1.0).is_cuda
    assert repr(g) == "tensor([[1., 2.]], device='cuda:0')"
    assert "requires_grad=True" in repr(cunn.ones(2, device="cuda", requires_grad=True))


def test_numpy_raises_as_pytorch_and_item_tolist_copy():
    g = cunn.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    with pytest.raises(TypeError, match=r"cuda:0.*Tensor\.cpu\(\)"):
        g.numpy()
    with pytest.raises(TypeError, match="cpu"):
        np.asarray(g)
    assert g.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert g[1, 0].item() == 3.0 and float(g.sum()) == 10.0 and int(g[0, 1]) == 2
    assert bool(g[0, 0] == 1.0)


def test_gradient_goes_back_to_the_source_device():
    x = cunn.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.cuda()
    assert y.grad_fn is not None and y.grad_fn.name() == "ToDeviceBackward"
    z = (y * y).sum()
    assert z.is_cuda
    z.backward()
    assert not x.grad.is_cuda
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    # a GPU leaf gets its gradient on the GPU, through a trip to the host and back
    leaf = cunn.tensor([0.5, 1.5], device="cuda", requires_grad=True)
    (leaf.cpu() * 3).sum().backward()
    assert leaf.grad.is_cuda
    np.testing.assert_allclose(host(leaf.grad), [3.0, 3.0])


def test_backward_with_an_explicit_gradient_on_either_device():
    leaf = cunn.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    (leaf * 2).backward(cunn.tensor([1.0, 10.0]))
    np.testing.assert_allclose(host(leaf.grad), [2.0, 20.0])
    (leaf * 2).backward(cunn.tensor([1.0, 1.0], device="cuda"))
    np.testing.assert_allclose(host(leaf.grad), [4.0, 22.0])
    with pytest.raises(ValueError, match="gradient has shape"):
        (leaf * 2).backward(cunn.ones(3))


FACTORIES = [
    ("zeros", lambda **kw: cunn.zeros(2, 3, **kw)),
    ("ones", lambda **kw: cunn.ones((2, 3), **kw)),
    ("full", lambda **kw: cunn.full((2, 2), 7, **kw)),
    ("rand", lambda **kw: cunn.rand(4, **kw)),
    ("randn", lambda **kw: cunn.randn(4, **kw)),
    ("randint", lambda **kw: cunn.randint(0, 9, (5,), **kw)),
    ("arange", lambda **kw: cunn.arange(0, 2, 0.5, **kw)),
    ("eye", lambda **kw: cunn.eye(3, **kw)),
    ("linspace", lambda **kw: cunn.linspace(0, 1, 5, **kw)),
    ("randperm", lambda **kw: cunn.randperm(6, **kw)),
    ("tensor", lambda **kw: cunn.tensor([[1, 2], [3, 4]], **kw)),
    ("as_tensor", lambda **kw: cunn.as_tensor([1.0, 2.0], **kw)),
]


@pytest.mark.parametrize("name, factory", FACTORIES, ids=[name for name, _ in FACTORIES])
def test_factories_take_device_and_give_the_cpu_numbers(name, factory):
    cunn.manual_seed(3)
    on_cpu = factory()
    cunn.manual_seed(3)
    on_gpu = factory(device="cuda")
    assert on_gpu.device == CUDA and on_gpu.dtype == on_cpu.dtype
    np.testing.assert_array_equal(host(on_gpu), on_cpu.numpy())
    assert factory(device="cpu").device == cunn.device("cpu")


def test_empty_and_requires_grad_on_the_gpu():
    t = cunn.empty(3, 2, device="cuda", requires_grad=True)
    assert t.is_cuda and t.shape == (3, 2) and t.requires_grad and t.is_leaf


def test_like_factories_keep_the_device_unless_told():
    g = cunn.randn(2, 3, device="cuda")
    for factory in (cunn.zeros_like, cunn.ones_like, cunn.empty_like, cunn.rand_like,
                    cunn.randn_like):
        assert factory(g).device == CUDA and factory(g).shape == (2, 3)
        assert factory(g, device="cpu").device == cunn.device("cpu")
    assert cunn.full_like(g, 4.0).device == CUDA
    np.testing.assert_array_equal(host(cunn.full_like(g, 4.0)), np.full((2, 3), 4.0))
    assert cunn.zeros_like(cunn.ones(2)).device == cunn.device("cpu")


def test_tensor_of_a_gpu_tensor_copies_on_its_device():
    g = cunn.tensor([1.0, 2.0], device="cuda")
    copy = cunn.tensor(g)
    assert copy.is_cuda and copy._data is not g._data
    assert cunn.tensor(g, device="cpu").device == cunn.device("cpu")
    assert cunn.as_tensor(g) is g and cunn.as_tensor(g, device="cpu").tolist() == [1.0, 2.0]


def test_use_backend_cuda_makes_new_tensors_default_to_the_gpu():
    before = cunn.current_backend()
    host_tensor = cunn.ones(2)
    try:
        cunn.use_backend("cuda")
        assert cunn.current_backend() == "cuda"
        made = cunn.zeros(3)
        assert made.is_cuda and cunn.tensor([1.0]).is_cuda and cunn.randn(2).is_cuda
        assert cunn.zeros(2, device="cpu").device == cunn.device("cpu")
        # host tensors keep computing on the host backend
        result = host_tensor + host_tensor
        assert not result.is_cuda and result.tolist() == [2.0, 2.0]
    finally:
        cunn.use_backend(before)
    assert cunn.current_backend() == before and not cunn.zeros(1).is_cuda
    with cunn.backend("cuda"):
        assert cunn.ones(1).is_cuda and cunn.current_backend() == "cuda"
    assert not cunn.ones(1).is_cuda and cunn.current_backend() == before
    assert "cuda" in cunn.available_backends()


def _mixed_calls(gpu, cpu, gpu_matrix, cpu_matrix, labels_cpu):
    return {
        "add": lambda: gpu + cpu,
        "reflected add": lambda: cpu + gpu,
        "mul": lambda: gpu * cpu,
        "div": lambda: cpu / gpu,
        "pow": lambda: gpu ** cpu,
        "matmul": lambda: gpu_matrix @ cpu_matrix,
        "comparison": lambda: gpu < cpu,
        "in place": lambda: gpu.add_(cpu),
        "cat": lambda: cunn.cat([gpu, cpu]),
        "where": lambda: cunn.where(cpu > 0, gpu, cpu),
        "linear": lambda: F.linear(cpu_matrix, gpu_matrix),
        "cross_entropy": lambda: F.cross_entropy(gpu_matrix, labels_cpu),
        "mse_loss": lambda: F.mse_loss(gpu, cpu),
    }


@pytest.mark.parametrize("case", list(_mixed_calls(*[None] * 5)))
def test_mixed_devices_raise_naming_both(case):
    gpu = cunn.tensor([1.0, 2.0, 3.0], device="cuda")
    cpu = cunn.tensor([4.0, 5.0, 6.0])
    gpu_matrix = cunn.ones(3, 3, device="cuda")
    call = _mixed_calls(gpu, cpu, gpu_matrix, cunn.ones(3, 3), cunn.tensor([0, 1, 2]))[case]
    with pytest.raises(RuntimeError, match="expected all tensors to be on the same device, "
                                           "found (cuda:0 and cpu|cpu and cuda:0)"):
        call()


def test_a_python_number_or_0d_host_tensor_may_join_a_gpu_op():
    g = cunn.tensor([1.0, 2.0], device="cuda")
    assert (g + 1).is_cuda and (2 * g).is_cuda and (g / cunn.tensor(2.0)).is_cuda
    np.testing.assert_allclose(host(g / cunn.tensor(2.0)), [0.5, 1.0])


def test_in_place_initialisers_and_copies_on_the_gpu():
    g = cunn.zeros(2, 3, device="cuda")
    cunn.manual_seed(5)
    g.normal_(1.0, 2.0)
    cunn.manual_seed(5)
    expected = cunn.zeros(2, 3).normal_(1.0, 2.0)
    np.testing.assert_array_equal(host(g), expected.numpy())
    g.uniform_(-1, 1)
    assert (host(g) >= -1).all() and (host(g) < 1).all()
    g.fill_(4.0)
    np.testing.assert_array_equal(host(g), np.full((2, 3), 4.0))
    g.zero_()
    np.testing.assert_array_equal(host(g), np.zeros((2, 3)))
    g.copy_(cunn.arange(6).reshape(2, 3))  # host to device, converting int64 to float32
    np.testing.assert_array_equal(host(g), np.arange(6).reshape(2, 3))
    g.copy_(cunn.tensor([9.0, 8.0, 7.0], device="cuda"))  # broadcast on the device
    np.testing.assert_array_equal(host(g), [[9, 8, 7], [9, 8, 7]])
    target = cunn.zeros(2, 3)
    target.copy_(g)  # device to host
    np.testing.assert_array_equal(target.numpy(), [[9, 8, 7], [9, 8, 7]])
    g.copy_(cunn.arange(6, device="cuda").reshape(2, 3).t().t())  # int64 on the device
    np.testing.assert_array_equal(host(g), np.arange(6).reshape(2, 3))
    with pytest.raises(ValueError, match="cannot be copied"):
        g.copy_(cunn.ones(4))
    with pytest.raises(ValueError, match="cannot be copied"):
        g.copy_(cunn.ones(4, device="cuda"))


def test_cunn_cuda_functions_answer_from_the_runtime(simulated_runtime):
    assert cunn.cuda.is_available() and cunn.cuda.device_count() == 1
    assert cunn.cuda.current_device() == 0
    cunn.cuda.set_device(0)
    cunn.cuda.set_device("cuda:0")
    assert cunn.cuda.get_device_name() == cunn.cuda.get_device_name(0) == \
        simulated_runtime.device_name(0)
    cunn.cuda.synchronize()
    stats = cunn.cuda.memory_stats()
    assert {"allocated_bytes", "reserved_bytes", "device_malloc_calls", "cache_hits"} <= set(stats)
    before = cunn.cuda.memory_allocated()
    big = cunn.zeros(1000, device="cuda")
    assert cunn.cuda.memory_allocated() >= before + 4000
    del big
    assert cunn.cuda.memory_allocated() == before
    assert cunn.cuda.memory_reserved() >= cunn.cuda.memory_allocated()
    cunn.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="invalid device 'cuda:1'.*1 CUDA device"):
        cunn.zeros(1, device="cuda:1")
    with pytest.raises(RuntimeError, match="cuda:3"):
        cunn.cuda.set_device(3)


def test_contiguous_equal_any_all_stay_on_the_gpu():
    g = cunn.arange(12, device="cuda").reshape(3, 4).float()
    t = g.t()
    assert not t._data.flags.c_contiguous
    packed = t.contiguous()
    assert packed.is_cuda and packed._data.flags.c_contiguous
    np.testing.assert_array_equal(host(packed), np.arange(12).reshape(3, 4).T)
    assert g.contiguous() is g
    assert g.equal(g.clone()) and not g.equal(g + 1) and not g.equal(g[:2])
    assert (g > 10).any().is_cuda and (g > 10).any().item() is True
    assert (g >= 0).all().item() is True and (g > 0).all().item() is False
    with pytest.raises(RuntimeError, match="equal: .*same device"):
        g.equal(g.cpu())


def test_constants_seeds_and_state_are_made_on_the_gpu_without_host_copies(
        simulated_runtime, monkeypatch):
    """A copy from host memory waits for every kernel queued before it: what the library
    makes by itself (constants, the loss's gradient seed, optimizer state) is filled on the
    device instead."""
    import cunn.nn as nn
    import cunn.optim as optim

    model = nn.Linear(3, 2).cuda()  # copies the user asked for happen before the count
    inputs = cunn.ones(4, 3, device="cuda")
    copies = []
    real = simulated_runtime.copy_from_host
    monkeypatch.setattr(simulated_runtime, "copy_from_host",
                        lambda *args: (copies.append(args), real(*args))[1])
    made = [cunn.zeros(3, device="cuda"), cunn.ones(2, 2, device="cuda"),
            cunn.full((2,), 7, device="cuda"), cunn.empty(4, device="cuda"),
            cunn.zeros_like(inputs), cunn.full((3,), True, device="cuda")]
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    model(inputs).sum().backward()
    optimizer.step()
    assert copies == []
    assert [m.tolist() for m in made[:3]] == [[0, 0, 0], [[1, 1], [1, 1]], [7, 7]]
    assert made[2].dtype == cunn.int64 and made[5].dtype == cunn.bool
    assert made[5].tolist() == [True, True, True]
    np.testing.assert_allclose(host(model.weight.grad), np.full((2, 3), 4.0))


def test_one_gpu_at_a_time(monkeypatch):
    """On a machine with two GPUs, tensors go to the current one; another index is refused
    with the call that selects it."""
    from cunn._backends.cuda import runtime

    simulator = runtime.runtime()
    current = [0]
    monkeypatch.setattr(simulator, "device_count", lambda: 2)
    monkeypatch.setattr(simulator, "current_device", lambda: current[0])
    monkeypatch.setattr(simulator, "set_device", lambda index: current.__setitem__(0, index))
    assert cunn.zeros(2, device="cuda:0").device == "cuda:0"
    with pytest.raises(RuntimeError, match=r"cuda:0 is the current one; call "
                                           r"cunn\.cuda\.set_device\(1\) first"):
        cunn.zeros(2).to("cuda:1")
    cunn.cuda.set_device(1)
    assert cunn.cuda.current_device() == 1
    assert cunn.ones(2, device="cuda").device == "cuda:1"
    assert cunn.ones(2).to("cuda:1").device == "cuda:1"
    with pytest.raises(RuntimeError, match="invalid device 'cuda:2'"):
        cunn.cuda.set_device(2)
