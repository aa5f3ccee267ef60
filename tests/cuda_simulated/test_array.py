"""DeviceArray against NumPy: each expression runs on host arrays and on device copies of
them, and must give the same values, shape and dtype; then the protocol's errors, and the
storage's lifetime (a block is freed when the last view of it goes)."""
import gc

import numpy as np
import pytest

from cunn._backends.cuda import array as device_array
from cunn._backends.cuda.array import DeviceArray, to_device

from .helpers import on_device

rng = np.random.default_rng(5)
A = rng.standard_normal((3, 4, 5)).astype(np.float32)
B = rng.standard_normal((4, 5)).astype(np.float32)
M = rng.standard_normal((6, 7)).astype(np.float32)
N = rng.standard_normal((7, 3)).astype(np.float32)
I = rng.integers(-5, 6, (3, 4)).astype(np.int64)
C = rng.random((4, 5)) > 0.5
V = np.array([3.0, np.nan, -1.0, 3.0, np.inf], np.float32)

EXPRESSIONS = {
    # views
    "transpose": lambda a, b: a.transpose(2, 0, 1),
    "T": lambda a, b: b.T,
    "slices": lambda a, b: a[1:, ::-2, 3:0:-2],
    "ellipsis and None": lambda a, b: a[..., None, 2],
    "int index": lambda a, b: a[-1, 2],
    "integer-array index": lambda a, b: a[np.array([[2, -1], [0, 2]])] + b[[3, 0, 3]].sum(),
    "reshape of a view copies": lambda a, b: a.transpose(1, 0, 2).reshape(4, -1),
    "reshape": lambda a, b: a.reshape(5, 12),
    "swapaxes": lambda a, b: np.swapaxes(a, 0, 2),
    "squeeze and expand_dims": lambda a, b: np.squeeze(np.expand_dims(b, (0, 2)), 0),
    "broadcast_to": lambda a, b: np.broadcast_to(b[:, :1], (3, 4, 5)) + 0,
    "copy": lambda a, b: a.T.copy(),
    # arithmetic with broadcasting, numbers and 0-d host arrays
    "add broadcast": lambda a, b: a + b,
    "sub transposed": lambda a, b: a.transpose(0, 2, 1) - b.T,
    "mul scalar": lambda a, b: 2.5 * a,
    "rdiv scalar": lambda a, b: 1.0 / (np.abs(b) + 1),
    "pow": lambda a, b: np.abs(b) ** 1.5,
    "rpow": lambda a, b: 2.0 ** b,
    "0-d host array": lambda a, b: b * np.array(3.0, np.float32),
    "maximum minimum": lambda a, b: np.minimum(np.maximum(a, b), 0.5),
    "neg exp log sqrt": lambda a, b: np.sqrt(np.exp(-b)) + np.log(np.abs(b) + 1),
    "abs sign square reciprocal": lambda a, b: np.sign(b) * np.square(b) + np.reciprocal(b),
    "tanh": lambda a, b: np.tanh(b),
    "remainder floor_divide": lambda a, b: (a * 7) % b + (a * 7) // 1.5 + 3.0 % (b + 4),
    "comparisons": lambda a, b: (a > b) & (a <= 1) | (a == b[0, 0]),
    "logical_not": lambda a, b: ~(b != b[1, 1]),
    "isnan isinf isfinite": lambda a, b: np.isnan(b / 0) | np.isinf(b / 0) | ~np.isfinite(b),
    "clip": lambda a, b: np.clip(b, -0.5, 0.25),
    "where": lambda a, b: np.where(b > 0, a, 0.0),
    "matmul": lambda a, b: b @ b.T,
    "matmul transposed views": lambda a, b: b.T @ b,
    "dot": lambda a, b: np.dot(b[0], b[1]) + np.dot(b, b[0]).sum() + np.dot(b.T, b)[0, 0],
    "count_nonzero": lambda a, b: np.count_nonzero(np.maximum(a, 0)),
    "matmul vectors": lambda a, b: (b @ b[0]).sum() + b[1] @ b.T + b[0] @ b[1],
    "matmul stacks": lambda a, b: a @ b.T + a @ a.transpose(0, 2, 1) + b @ a.transpose(0, 2, 1),
    # reductions
    "sum all": lambda a, b: np.sum(a),
    "sum axes": lambda a, b: a.sum(axis=(0, 2)),
    "sum keepdims": lambda a, b: np.sum(a, axis=1, keepdims=True),
    "sum of a view": lambda a, b: a[:, ::2].sum(axis=(2, 0)),
    "mean": lambda a, b: a.mean(axis=-1),
    "max": lambda a, b: np.max(a, axis=1),
    "max axes": lambda a, b: np.max(a[:, 1:], axis=(0, 2), keepdims=True),
    "argmax all keepdims": lambda a, b: np.argmax(a.transpose(1, 0, 2), keepdims=True),
    "min all": lambda a, b: a.min(),
    "argmax": lambda a, b: np.argmax(a, axis=2),
    "argmin all": lambda a, b: a.argmin(),
    "any all": lambda a, b: np.stack([np.any(b > 1, axis=0), np.all(b > -3, axis=0)]),
    # creation and joining
    "zeros_like": lambda a, b: np.zeros_like(b) + np.ones_like(b),
    "full_like": lambda a, b: np.full_like(a, 2.5),
    "empty_like": lambda a, b: np.empty_like(b).shape,
    "concatenate": lambda a, b: np.concatenate([a[0], b, a[2]], axis=1),
    "stack": lambda a, b: np.stack([b, b * 2], axis=1),
    "split": lambda a, b: np.split(a, [1, 3], axis=1)[1] + np.split(a, 2, axis=1)[0],
    "tile": lambda a, b: np.tile(b[1:3], (2, 1, 3)),
    "astype": lambda a, b: (b * 3).astype(np.int64),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_expression_matches_numpy(name):
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = EXPRESSIONS[name](A, B)
    actual = EXPRESSIONS[name](*on_device((A, B)))
    if isinstance(expected, tuple):  # a shape
        assert actual == expected
        return
    expected = np.asarray(expected)
    assert isinstance(actual, DeviceArray)
    got = actual.get()
    assert got.shape == expected.shape
    assert got.dtype == (np.float32 if expected.dtype == np.float64 else expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_integer_arithmetic_stays_int64_and_division_gives_float32():
    host = I
    device = to_device(host)
    np.testing.assert_array_equal((device * 3 - device).get(), host * 3 - host)
    assert (device + 1).dtype == np.int64
    assert (device / 2).dtype == np.float32
    np.testing.assert_allclose((device / 2).get(), host / 2)
    assert (device + 0.5).dtype == np.float32  # PyTorch's promotion, not NumPy's float64
    np.testing.assert_array_equal(np.sum(device, axis=0).get(), host.sum(axis=0))
    np.testing.assert_array_equal(np.abs(-device).get(), np.abs(host))
    np.testing.assert_array_equal(np.sign(device).get(), np.sign(host))
    np.testing.assert_array_equal((device == 2).get(), host == 2)


@pytest.mark.parametrize("divisor", [2, -3, np.array([2, 3, -3, 7, 1000, -17, 5])])
def test_integer_remainder_and_floor_division_are_exact(divisor):
    host = np.array([7, -7, 0, 5, 123456789012, -98765432109, 2 ** 40 + 3], np.int64)
    device, other = to_device(host), on_device(divisor)
    np.testing.assert_array_equal((device % other).get(), host % divisor)
    np.testing.assert_array_equal((device // other).get(), host // divisor)
    np.testing.assert_array_equal((1000 % to_device(host[:4] + 2)).get(), 1000 % (host[:4] + 2))


def test_bool_arrays_sum_to_int64_and_cast():
    device = to_device(C)
    assert np.sum(device).dtype == np.int64 and np.sum(device).item() == C.sum()
    np.testing.assert_array_equal(device.astype(np.float32).get(), C.astype(np.float32))
    np.testing.assert_array_equal(to_device(np.array([0, 3, -2])).astype(bool).get(),
                                  [False, True, True])
    np.testing.assert_array_equal(to_device(np.array([0, 0.3, -2], np.float32)).astype(bool).get(),
                                  [False, True, True])  # != 0, not truncation


def test_max_and_argmax_follow_the_twin_on_nan_and_ties():
    device = to_device(V)
    assert np.isnan(np.max(device).item())
    assert np.argmax(device).item() == 1
    assert np.argmax(to_device(np.array([1, 5, 5, 2], np.float32))).item() == 1


def test_ufunc_out_writes_in_place_and_casts():
    target = to_device(B.copy())
    view_before = target[0]
    result = np.add(target, 1.0, out=target)
    assert result is target
    np.testing.assert_allclose(view_before.get(), B[0] + 1)  # views see the new values
    counts = to_device(np.zeros((4, 5), np.int64))
    np.multiply(to_device(B), 10.0, out=counts)
    np.testing.assert_array_equal(counts.get(), (B * np.float32(10)).astype(np.int64))
    in_place = to_device(B.copy())
    in_place *= 2
    in_place -= to_device(B)
    np.testing.assert_allclose(in_place.get(), B)


def test_setitem_fill_and_item():
    device = to_device(M.copy())
    device[2] = 7.0
    device[3:5] = to_device(N.T[:1])  # broadcast over the two rows
    host = M.copy()
    host[2] = 7.0
    host[3:5] = N.T[:1]
    np.testing.assert_array_equal(device.get(), host)
    assert device[2, 3].item() == 7.0 and float(device[2, 3]) == 7.0
    device.fill(1.5)
    assert np.all(device.get() == 1.5)
    with pytest.raises(TypeError, match="non-contiguous"):
        device[:, 1] = 0.0
    with pytest.raises(ValueError, match="one-element"):
        device.item()


def test_attributes_and_element_strides():
    device = to_device(A)
    assert (device.shape, device.ndim, device.size, device.nbytes) == (A.shape, 3, 60, 240)
    assert device.strides == (20, 5, 1)  # in elements, not bytes
    view = device[:, ::-2].transpose(2, 0, 1)
    assert view.strides == (1, 20, -10)
    assert view.ptr == device.ptr + 3 * 5 * 4  # element [0, 3, 0], as a byte address
    assert not view.is_contiguous() and device.is_contiguous()
    assert device.T.flags.f_contiguous and not device.T.flags.c_contiguous
    assert str(device.device) == "cuda:0"
    assert np.broadcast_to(device[:1], (4, 4, 5)).strides == (0, 5, 1)
    assert not np.broadcast_to(device[:1], (4, 4, 5)).flags.writeable
    assert device[:, None].flags.writeable and device[:, None].strides[1] == 0


def test_numpy_conversion_is_refused_as_pytorch_does():
    device = to_device(B)
    with pytest.raises(TypeError, match=r"\.cpu\(\) first"):
        np.asarray(device)
    with pytest.raises(TypeError, match=r"\.cpu\(\) first"):
        np.array(device)


@pytest.mark.parametrize("call, name", [
    (lambda d: np.sort(d), "np.sort"),
    (lambda d: np.cumsum(d), "np.cumsum"),
    (lambda d: np.floor(d), "np.floor"),
    (lambda d: np.add.reduce(d), "np.add.reduce"),
    (lambda d: np.where(d > 0), "nonzero"),
    (lambda d: np.argsort(d), "np.argsort"),
])
def test_unsupported_functions_name_themselves_and_cuda(call, name):
    with pytest.raises(TypeError, match="cuda") as error:
        call(to_device(B))
    assert name in str(error.value)


def test_indexing_errors():
    device = to_device(B)
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 5"):
        device[0, 5]
    with pytest.raises(IndexError, match="too many indices"):
        device[0, 0, 0]
    with pytest.raises(TypeError, match="advanced indexing"):
        device[np.array([0, 1]), 2]
    with pytest.raises(TypeError, match="with a mask is not supported"):
        device[to_device(np.array([True, False, True, True]))]
    with pytest.raises(IndexError, match="index out of range for axis 0 with size 4"):
        device[to_device(np.array([0, 4]))]


def test_mixed_devices_are_a_runtime_error():
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        to_device(B) + B
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        np.add(B, to_device(B))
    with pytest.raises(ValueError, match=r"could not be broadcast together with shapes \(4, 5\) \(6, 7\)"):
        to_device(B) + to_device(M)


def test_unsupported_dtypes_are_refused():
    with pytest.raises(TypeError, match="float64 is not supported on cuda"):
        to_device(np.zeros(3))
    with pytest.raises(TypeError, match="int32 is not supported on cuda"):
        device_array.empty((2,), np.int32)


def test_a_block_is_freed_when_its_last_view_goes(simulated_runtime):
    device = to_device(M)
    view = device.T[1:]
    allocated = simulated_runtime.memory_stats()["allocated_bytes"]
    del device
    gc.collect()
    assert simulated_runtime.memory_stats()["allocated_bytes"] == allocated  # the view holds it
    np.testing.assert_array_equal(view.get(), M.T[1:])
    calls = simulated_runtime.device_malloc_calls
    del view
    gc.collect()
    assert simulated_runtime.memory_stats()["allocated_bytes"] == allocated - 512
    again = to_device(M)  # the same size again: served from the cache
    assert simulated_runtime.device_malloc_calls == calls
    del again


def test_empty_arrays_launch_nothing(simulated_runtime):
    empty = device_array.zeros((0, 3))
    launches = simulated_runtime.launches
    assert (empty + 1).shape == (0, 3) and np.sum(empty, axis=0).get().tolist() == [0, 0, 0]
    assert empty.get().shape == (0, 3) and empty.ptr == 0
    assert simulated_runtime.launches == launches + 1  # the sum's fill of zeros only


def _random_view(rng, array):
    """A random chain of basic indexing, transposes and broadcasts, applied the same way to
    a host array and its device copy (``array`` is either)."""
    for _ in range(rng.integers(1, 6)):
        choice = rng.integers(0, 3)
        if choice == 0 and array.ndim:
            key = []
            for size in array.shape:  # a non-empty run [start, stop), either way
                start = int(rng.integers(0, max(size, 1)))
                stop = int(rng.integers(start + 1, max(size, 1) + 1))
                step = int(rng.choice([1, 2, -1, -3]))
                key.append(slice(start, stop, step) if step > 0 else
                           slice(stop - 1, start - 1 if start else None, step))
            array = array[tuple(key)]
        elif choice == 1:
            array = array.transpose(tuple(rng.permutation(array.ndim).tolist()))
        else:
            array = array[None]
    return array


@pytest.mark.parametrize("seed", range(40))
def test_random_views_read_and_compute_as_numpy(seed):
    rng = np.random.default_rng(seed)
    host = rng.standard_normal(tuple(rng.integers(1, 6, rng.integers(1, 5)))).astype(np.float32)
    device = to_device(host)
    host_view = _random_view(np.random.default_rng(seed), host)
    device_view = _random_view(np.random.default_rng(seed), device)
    assert device_view.shape == host_view.shape
    np.testing.assert_array_equal(device_view.get(), host_view)
    np.testing.assert_array_equal((device_view * 2 + device_view[..., :1]).get(),
                                  host_view * 2 + host_view[..., :1])
    if host_view.size:
        np.testing.assert_allclose(np.sum(device_view, axis=0).get(), np.sum(host_view, axis=0),
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(device_view.reshape(-1).get(), host_view.reshape(-1))


def test_copies_and_pickles_own_their_blocks(simulated_runtime):
    import copy
    import pickle

    device = to_device(M)
    copies = [copy.copy(device), copy.deepcopy(device), pickle.loads(pickle.dumps(device)),
              copy.deepcopy({"nested": [device.T]})["nested"][0].T]
    for duplicate in copies:
        assert duplicate.ptr != device.ptr
        np.testing.assert_array_equal(duplicate.get(), M)
    del device, copies, duplicate
    gc.collect()
    assert simulated_runtime.memory_stats()["allocated_bytes"] == 0
    with pytest.raises(TypeError, match="cannot be copied"):
        copy.copy(to_device(M)._storage)
