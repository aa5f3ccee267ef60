"""The CUDA layer kernels (conv2d, pooling, dropout, optimizer updates, normalization,
embedding) against their NumPy twins, through the runtime's host<->device copies.

Every test takes the `cuda_runtime` fixture: cunn._C.cuda on a GPU machine, or any object with
the same functions (the simulated runtime). Output buffers start as NaN (or another sentinel),
so an element a kernel forgets to write shows up. Tolerances: 1e-5 relative for elementwise
math and the double-summed statistics, 1e-5 * sqrt(k) (relative to the largest value) for the
GEMM-based convolution with k-term dot products.
"""
import math

import numpy as np
import pytest

from cunn._backends.numpy_ref import avg_pool as avg_pool_ref
from cunn._backends.numpy_ref import conv2d as conv2d_ref
from cunn._backends.numpy_ref import dropout as dropout_ref
from cunn._backends.numpy_ref import embedding as embedding_ref
from cunn._backends.numpy_ref import normalization as normalization_ref
from cunn._backends.numpy_ref import optim as optim_ref
from cunn._backends.numpy_ref import philox
from cunn._backends.numpy_ref import pool as pool_ref

_SENTINELS = {np.dtype(np.float32): np.nan, np.dtype(np.int64): -7, np.dtype(np.uint8): 7,
              np.dtype(np.int32): 0}


class Device:
    """Device buffers made and read through the runtime; frees them all at the end."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.blocks = []

    def put(self, array):
        array = np.ascontiguousarray(array)
        pointer = self.runtime.malloc(array.nbytes)
        self.blocks.append(pointer)
        if array.nbytes:
            self.runtime.copy_from_host(pointer, array)
        return pointer

    def output(self, shape, dtype=np.float32):
        """A buffer of `shape` holding a sentinel (NaN for floats), to be overwritten."""
        dtype = np.dtype(dtype)
        return self.put(np.full(shape, _SENTINELS[dtype], dtype))

    def get(self, pointer, shape, dtype=np.float32):
        array = np.empty(shape, dtype)
        if array.nbytes:
            self.runtime.copy_to_host(array, pointer)
        return array

    def free(self):
        for pointer in self.blocks:
            if pointer:
                self.runtime.free(pointer)
        self.blocks.clear()


@pytest.fixture
def device(cuda_runtime):
    buffers = Device(cuda_runtime)
    yield buffers
    buffers.free()


def assert_close(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def assert_dot_close(got, want, k):
    """Sums of k products: float32 rounding grows like sqrt(k) times the result's scale."""
    tolerance = 1e-5 * math.sqrt(max(k, 1))
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * scale)


def random(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- conv2d ----------------------------------------------------------------------------------

# n, c, h, w, o, kh, kw, stride, padding, bias
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 3, (1, 1), (0, 0), True),
    (2, 3, 7, 9, 5, 3, 2, (2, 1), (1, 0), True),
    (3, 5, 11, 6, 7, 5, 5, (1, 2), (2, 2), False),
    (1, 2, 4, 4, 3, 4, 4, (1, 1), (0, 0), True),     # kernel = input: one output
    (2, 3, 3, 3, 2, 7, 7, (1, 1), (3, 3), True),     # kernel larger than the input
    (2, 2, 10, 10, 3, 2, 2, (3, 3), (0, 0), False),  # stride > kernel: inputs nobody reads
    (4, 16, 8, 8, 33, 1, 1, (1, 1), (0, 0), True),   # 1x1 convolution
    (5, 17, 13, 13, 19, 3, 3, (2, 2), (1, 1), True),
    (1, 3, 1, 1, 2, 3, 3, (1, 1), (1, 1), True),     # 1x1 input under padding
    (16, 32, 28, 28, 64, 5, 5, (1, 1), (2, 2), True),
]
# Beyond one 64 MiB column workspace: several images per tile with a partial last tile, and
# one image cut into output-pixel tiles.
CONV_TILED_CASES = [
    (3, 37, 128, 128, 6, 3, 3, (1, 1), (1, 1), True),
    (1, 120, 128, 128, 5, 3, 3, (1, 1), (1, 1), False),
]


def _conv_case_id(case):
    n, c, h, w, o, kh, kw, stride, padding, bias = case
    return f"n{n}c{c}h{h}w{w}o{o}k{kh}x{kw}s{stride[0]}{stride[1]}p{padding[0]}{padding[1]}"


def _output_size(h, w, kh, kw, stride, padding):
    return ((h + 2 * padding[0] - kh) // stride[0] + 1,
            (w + 2 * padding[1] - kw) // stride[1] + 1)


def _check_conv(cuda_runtime, device, case, seed):
    n, c, h, w, o, kh, kw, stride, padding, with_bias = case
    rng = np.random.default_rng(seed)
    x, weight = random(rng, (n, c, h, w)), random(rng, (o, c, kh, kw))
    bias = random(rng, (o,)) if with_bias else None
    oh, ow = _output_size(h, w, kh, kw, stride, padding)
    geometry = (n, c, h, w, o, kh, kw, stride[0], stride[1], padding[0], padding[1])
    x_ptr, weight_ptr = device.put(x), device.put(weight)
    bias_ptr = device.put(bias) if with_bias else 0

    out_ptr = device.output((n, o, oh, ow))
    cuda_runtime.conv2d_forward(out_ptr, x_ptr, weight_ptr, bias_ptr, *geometry)
    want = conv2d_ref.conv2d_forward(x, weight, bias, stride, padding)
    assert_dot_close(device.get(out_ptr, (n, o, oh, ow)), want, c * kh * kw)

    grad_output = random(rng, (n, o, oh, ow))
    grad_output_ptr = device.put(grad_output)
    grad_input_ptr = device.output((n, c, h, w))
    cuda_runtime.conv2d_backward_input(grad_input_ptr, grad_output_ptr, weight_ptr, *geometry)
    want = conv2d_ref.conv2d_backward_input(grad_output, weight, (n, c, h, w), stride, padding)
    assert_dot_close(device.get(grad_input_ptr, (n, c, h, w)), want, o * kh * kw)

    grad_weight_ptr = device.output((o, c, kh, kw))
    cuda_runtime.conv2d_backward_weight(grad_weight_ptr, grad_output_ptr, x_ptr, *geometry)
    want = conv2d_ref.conv2d_backward_weight(grad_output, x, (o, c, kh, kw), stride, padding)
    assert_dot_close(device.get(grad_weight_ptr, (o, c, kh, kw)), want, n * oh * ow)


@pytest.mark.parametrize("case", CONV_CASES, ids=_conv_case_id)
def test_conv2d_matches_twin(cuda_runtime, device, case):
    _check_conv(cuda_runtime, device, case, seed=sum(case[:7]))


@pytest.mark.slow
@pytest.mark.parametrize("case", CONV_TILED_CASES, ids=_conv_case_id)
def test_conv2d_tiled_workspace_matches_twin(cuda_runtime, device, case):
    _check_conv(cuda_runtime, device, case, seed=11)


def test_conv2d_is_deterministic(cuda_runtime, device):
    rng = np.random.default_rng(3)
    n, c, h, w, o, k = 6, 8, 15, 15, 12, 3
    geometry = (n, c, h, w, o, k, k, 1, 1, 1, 1)
    grad_output_ptr = device.put(random(rng, (n, o, h, w)))
    weight_ptr, x_ptr = device.put(random(rng, (o, c, k, k))), device.put(random(rng, (n, c, h, w)))
    results = []
    for _ in range(2):
        grad_input_ptr, grad_weight_ptr = device.output((n, c, h, w)), device.output((o, c, k, k))
        cuda_runtime.conv2d_backward_input(grad_input_ptr, grad_output_ptr, weight_ptr, *geometry)
        cuda_runtime.conv2d_backward_weight(grad_weight_ptr, grad_output_ptr, x_ptr, *geometry)
        results.append((device.get(grad_input_ptr, (n, c, h, w)),
                        device.get(grad_weight_ptr, (o, c, k, k))))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_conv2d_empty_batch_writes_zero_weight_gradient(cuda_runtime, device):
    geometry = (0, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0)
    grad_weight_ptr = device.output((3, 2, 3, 3))
    cuda_runtime.conv2d_backward_weight(grad_weight_ptr, 0, 0, *geometry)
    np.testing.assert_array_equal(device.get(grad_weight_ptr, (3, 2, 3, 3)), 0)


# ---- pooling ---------------------------------------------------------------------------------

# planes, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w
POOL_CASES = [
    (1, 1, 1, 1, 1, 1, 1, 0, 0),
    (6, 7, 9, 3, 3, 2, 2, 1, 1),
    (3, 8, 5, 2, 3, 1, 2, 1, 1),
    (2, 13, 11, 4, 4, 3, 3, 2, 2),
    (1, 5, 5, 5, 5, 1, 1, 2, 2),
    (5, 10, 10, 3, 3, 1, 1, 1, 1),   # overlapping windows
    (4, 9, 12, 2, 2, 3, 4, 0, 0),    # stride > kernel
    (1024, 32, 32, 2, 2, 2, 2, 0, 0),
]


def _pool_id(case):
    return "p{}h{}w{}k{}x{}s{}{}p{}{}".format(*case)


def _pool_sizes(case):
    planes, h, w, kh, kw, sh, sw, ph, pw = case
    oh, ow = _output_size(h, w, kh, kw, (sh, sw), (ph, pw))
    return planes, h, w, oh, ow


@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_max_pool2d_matches_twin(cuda_runtime, device, case):
    planes, h, w, oh, ow = _pool_sizes(case)
    _, _, _, kh, kw, sh, sw, ph, pw = case
    rng = np.random.default_rng(planes + h)
    # Small integers make ties; a few NaNs and -infs test what wins.
    x = rng.integers(-3, 4, (planes, h, w)).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[rng.random(x.shape) < 0.03] = -np.inf
    out_ptr = device.output((planes, oh, ow))
    indices_ptr = device.output((planes, oh, ow), np.int64)
    cuda_runtime.max_pool2d_forward(out_ptr, indices_ptr, device.put(x), planes, h, w, oh, ow,
                                    kh, kw, sh, sw, ph, pw)
    want, want_indices = pool_ref.max_pool2d_forward(x[None], (kh, kw), (sh, sw), (ph, pw))
    np.testing.assert_array_equal(device.get(out_ptr, (planes, oh, ow)), want[0])
    indices = device.get(indices_ptr, (planes, oh, ow), np.int64)
    np.testing.assert_array_equal(indices, want_indices[0])

    grad_output = random(rng, (planes, oh, ow))
    grad_input_ptr = device.output((planes, h, w))
    cuda_runtime.max_pool2d_backward(grad_input_ptr, device.put(grad_output), indices_ptr, planes,
                                     h, w, oh, ow, kh, kw, sh, sw, ph, pw)
    want = pool_ref.max_pool2d_backward(grad_output[None], want_indices, (1, planes, h, w))
    assert_close(device.get(grad_input_ptr, (planes, h, w)), want[0])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_avg_pool2d_matches_twin(cuda_runtime, device, case, count_include_pad):
    planes, h, w, oh, ow = _pool_sizes(case)
    _, _, _, kh, kw, sh, sw, ph, pw = case
    rng = np.random.default_rng(planes * h + w)
    x = random(rng, (planes, h, w))
    geometry = (planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, count_include_pad)
    out_ptr = device.output((planes, oh, ow))
    cuda_runtime.avg_pool2d_forward(out_ptr, device.put(x), *geometry)
    want = avg_pool_ref.avg_pool2d_forward(x[None], (kh, kw), (sh, sw), (ph, pw),
                                           count_include_pad)
    assert_close(device.get(out_ptr, (planes, oh, ow)), want[0])

    grad_output = random(rng, (planes, oh, ow))
    grad_input_ptr = device.output((planes, h, w))
    cuda_runtime.avg_pool2d_backward(grad_input_ptr, device.put(grad_output), *geometry)
    want = avg_pool_ref.avg_pool2d_backward(grad_output[None], (1, planes, h, w), (kh, kw),
                                            (sh, sw), (ph, pw), count_include_pad)
    assert_close(device.get(grad_input_ptr, (planes, h, w)), want[0])


# planes, h, w, oh, ow
ADAPTIVE_CASES = [
    (1, 1, 1, 1, 1),
    (3, 7, 9, 3, 4),     # overlapping windows
    (2, 5, 5, 5, 5),
    (1, 4, 6, 1, 1),     # global average
    (2, 3, 3, 7, 5),     # more outputs than inputs
    (64, 10, 10, 3, 3),
    (8, 33, 17, 4, 6),
]


@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=lambda c: "p{}h{}w{}o{}x{}".format(*c))
def test_adaptive_avg_pool2d_matches_twin(cuda_runtime, device, case):
    planes, h, w, oh, ow = case
    rng = np.random.default_rng(h * w)
    x = random(rng, (planes, h, w))
    out_ptr = device.output((planes, oh, ow))
    cuda_runtime.adaptive_avg_pool2d_forward(out_ptr, device.put(x), planes, h, w, oh, ow)
    want = avg_pool_ref.adaptive_avg_pool2d_forward(x[None], (oh, ow))
    assert_close(device.get(out_ptr, (planes, oh, ow)), want[0])

    grad_output = random(rng, (planes, oh, ow))
    grad_input_ptr = device.output((planes, h, w))
    cuda_runtime.adaptive_avg_pool2d_backward(grad_input_ptr, device.put(grad_output), planes, h,
                                              w, oh, ow)
    want = avg_pool_ref.adaptive_avg_pool2d_backward(grad_output[None], (1, planes, h, w))
    assert_close(device.get(grad_input_ptr, (planes, h, w)), want[0])


# ---- dropout ---------------------------------------------------------------------------------

def _mask(cuda_runtime, device, count, p, seed, offset):
    mask_ptr = device.output((count,), np.uint8)
    cuda_runtime.dropout_mask(mask_ptr, count, p, seed, offset)
    return device.get(mask_ptr, (count,), np.uint8)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_mask_keeps_one_minus_p(cuda_runtime, device, p):
    count = 200_003
    mask = _mask(cuda_runtime, device, count, p, seed=1234, offset=0)
    assert set(np.unique(mask)) <= {0, 1}
    sigma = math.sqrt(p * (1 - p) / count)
    assert abs(mask.mean() - (1 - p)) < 6 * sigma
    # Neighbours are independent: runs of kept elements have the geometric mean length.
    both = np.mean(mask[1:] & mask[:-1])
    assert abs(both - (1 - p) ** 2) < 6 * math.sqrt((1 - p) ** 2 / count)


def test_dropout_mask_extremes(cuda_runtime, device):
    np.testing.assert_array_equal(_mask(cuda_runtime, device, 1001, 0.0, 5, 0), 1)
    np.testing.assert_array_equal(_mask(cuda_runtime, device, 1001, 1.0, 5, 0), 0)


def test_dropout_mask_is_a_function_of_seed_and_position(cuda_runtime, device):
    count = 10_007
    first = _mask(cuda_runtime, device, count, 0.5, seed=99, offset=3)
    np.testing.assert_array_equal(first, _mask(cuda_runtime, device, count, 0.5, 99, 3))
    # The stream does not depend on how it is cut into calls (offsets off the group of 4 too).
    for cut in (1, 4, 7, 5000):
        head = _mask(cuda_runtime, device, cut, 0.5, 99, 3)
        tail = _mask(cuda_runtime, device, count - cut, 0.5, 99, 3 + cut)
        np.testing.assert_array_equal(np.concatenate([head, tail]), first)
    # Another offset or seed is another stream, not a copy.
    assert np.mean(first != _mask(cuda_runtime, device, count, 0.5, 99, 3 + count)) > 0.4
    assert np.mean(first != _mask(cuda_runtime, device, count, 0.5, 100, 3)) > 0.4
    assert np.mean(first != _mask(cuda_runtime, device, count, 0.5, 99 + 2 ** 32, 3)) > 0.4


@pytest.mark.parametrize("seed, offset", [(0, 0), (7, 3), (2 ** 40 + 5, 2 ** 33 + 1), (-1, 5)])
def test_dropout_mask_matches_philox_reference(cuda_runtime, device, seed, offset):
    count = 4099
    want = philox.dropout_mask(count, 0.3, seed, offset)
    np.testing.assert_array_equal(_mask(cuda_runtime, device, count, 0.3, seed, offset), want)
    # A seed is taken modulo 2^64.
    np.testing.assert_array_equal(_mask(cuda_runtime, device, count, 0.3, seed % 2 ** 64, offset),
                                  want)


@pytest.mark.parametrize("count", [1, 37, 100_003])
def test_dropout_forward_backward_match_twin(cuda_runtime, device, count):
    rng = np.random.default_rng(count)
    x = random(rng, (count,))
    x[:: 97] = np.inf  # dropped inf gives NaN (inf * 0), as in the twin
    scale = 1 / 0.7
    mask_ptr = device.output((count,), np.uint8)
    cuda_runtime.dropout_mask(mask_ptr, count, 0.3, 42, 0)
    mask = device.get(mask_ptr, (count,), np.uint8)
    out_ptr = device.output((count,))
    cuda_runtime.dropout_forward(out_ptr, device.put(x), mask_ptr, count, scale)
    with np.errstate(invalid="ignore"):
        want = dropout_ref.dropout_forward(x, mask, scale)
    assert_close(device.get(out_ptr, (count,)), want)
    grad_output = random(rng, (count,))
    grad_input_ptr = device.output((count,))
    cuda_runtime.dropout_backward(grad_input_ptr, device.put(grad_output), mask_ptr, count, scale)
    assert_close(device.get(grad_input_ptr, (count,)),
                 dropout_ref.dropout_backward(grad_output, mask, scale))


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 7, 2), (16, 64, 9, 9)])
def test_dropout2d_forward_backward_match_twin(cuda_runtime, device, shape):
    rng = np.random.default_rng(sum(shape))
    planes, plane_size = shape[0] * shape[1], shape[2] * shape[3]
    x = random(rng, shape)
    mask = (rng.random(shape[:2]) >= 0.5).astype(np.uint8)
    mask_ptr = device.put(mask)
    scale = 2.0
    out_ptr = device.output(shape)
    cuda_runtime.dropout2d_forward(out_ptr, device.put(x), mask_ptr, planes, plane_size, scale)
    assert_close(device.get(out_ptr, shape), dropout_ref.dropout2d_forward(x, mask, scale))
    grad_output = random(rng, shape)
    grad_input_ptr = device.output(shape)
    cuda_runtime.dropout2d_backward(grad_input_ptr, device.put(grad_output), mask_ptr, planes,
                                    plane_size, scale)
    assert_close(device.get(grad_input_ptr, shape),
                 dropout_ref.dropout2d_backward(grad_output, mask, scale))


# ---- optimizer updates -----------------------------------------------------------------------

OPTIM_COUNTS = [1, 37, 100_003]
OPTIM_STEPS = 3


class _States:
    """Host arrays of one parameter and its states, mirrored on the device."""

    def __init__(self, device, count, names, rng):
        self.device = device
        self.count = count
        self.host = {"param": random(rng, (count,))}
        for name in names:
            # Squared averages must stay non-negative, as they are in real use.
            self.host[name] = np.abs(random(rng, (count,))) * np.float32(0.1)
        self.pointers = {name: device.put(value) for name, value in self.host.items()}

    def pointer(self, name):
        return self.pointers.get(name, 0)

    def check(self):
        for name, value in self.host.items():
            assert_close(self.device.get(self.pointers[name], (self.count,)), value,
                         rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("count", OPTIM_COUNTS)
@pytest.mark.parametrize("momentum, dampening, weight_decay, nesterov",
                         [(0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False),
                          (0.9, 0.1, 1e-2, False), (0.9, 0.0, 1e-2, True)])
def test_sgd_step_matches_twin(cuda_runtime, device, count, momentum, dampening, weight_decay,
                               nesterov):
    rng = np.random.default_rng(count)
    states = _States(device, count, ["momentum_buffer"] if momentum else [], rng)
    for step in range(1, OPTIM_STEPS + 1):
        grad = random(rng, (count,))
        cuda_runtime.sgd_step(states.pointer("param"), device.put(grad),
                              states.pointer("momentum_buffer"), count, 0.05, momentum,
                              dampening, weight_decay, nesterov, step == 1)
        buffers = [states.host["momentum_buffer"]] if momentum else []
        optim_ref.sgd_step_([states.host["param"]], [grad], buffers, 0.05, momentum, dampening,
                            weight_decay, nesterov, step == 1)
    states.check()


@pytest.mark.parametrize("count", OPTIM_COUNTS)
@pytest.mark.parametrize("weight_decay, decoupled, amsgrad, beta1",
                         [(0.0, False, False, 0.9), (1e-2, False, False, 0.9),
                          (1e-2, True, False, 0.9), (1e-2, True, True, 0.9),
                          (0.0, False, True, 0.3)])
def test_adam_step_matches_twin(cuda_runtime, device, count, weight_decay, decoupled, amsgrad,
                                beta1):
    rng = np.random.default_rng(count + 1)
    names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad else [])
    states = _States(device, count, names, rng)
    for step in range(1, OPTIM_STEPS + 1):
        grad = random(rng, (count,))
        cuda_runtime.adam_step(states.pointer("param"), device.put(grad),
                               states.pointer("exp_avg"), states.pointer("exp_avg_sq"),
                               states.pointer("max_exp_avg_sq"), count, 1e-3, beta1, 0.999, 1e-8,
                               weight_decay, step, decoupled)
        host = states.host
        optim_ref.adam_step_([host["param"]], [grad], [host["exp_avg"]], [host["exp_avg_sq"]],
                             1e-3, beta1, 0.999, 1e-8, weight_decay, step, decoupled,
                             [host["max_exp_avg_sq"]] if amsgrad else [])
    states.check()


@pytest.mark.parametrize("count", OPTIM_COUNTS)
@pytest.mark.parametrize("momentum, centered, weight_decay, alpha",
                         [(0.0, False, 0.0, 0.99), (0.9, False, 1e-2, 0.99),
                          (0.0, True, 0.0, 0.99), (0.5, True, 1e-2, 0.3)])
def test_rmsprop_step_matches_twin(cuda_runtime, device, count, momentum, centered,
                                   weight_decay, alpha):
    rng = np.random.default_rng(count + 2)
    names = ["square_avg"] + (["momentum_buffer"] if momentum else []) + (
        ["grad_avg"] if centered else [])
    states = _States(device, count, names, rng)
    if centered:  # square_avg - grad_avg^2 must stay >= 0, as it does in real use
        states.host["grad_avg"][...] = 0
        device.runtime.copy_from_host(states.pointer("grad_avg"), states.host["grad_avg"])
    for _ in range(OPTIM_STEPS):
        grad = random(rng, (count,))
        cuda_runtime.rmsprop_step(states.pointer("param"), device.put(grad),
                                  states.pointer("square_avg"), states.pointer("momentum_buffer"),
                                  states.pointer("grad_avg"), count, 1e-2, alpha, 1e-8,
                                  weight_decay, momentum, centered)
        host = states.host
        optim_ref.rmsprop_step_([host["param"]], [grad], [host["square_avg"]],
                                [host["momentum_buffer"]] if momentum else [],
                                [host["grad_avg"]] if centered else [], 1e-2, alpha, 1e-8,
                                weight_decay, momentum, centered)
    states.check()


@pytest.mark.parametrize("count", OPTIM_COUNTS)
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adadelta_step_matches_twin(cuda_runtime, device, count, weight_decay):
    rng = np.random.default_rng(count + 3)
    states = _States(device, count, ["square_avg", "acc_delta"], rng)
    for _ in range(OPTIM_STEPS):
        grad = random(rng, (count,))
        cuda_runtime.adadelta_step(states.pointer("param"), device.put(grad),
                                   states.pointer("square_avg"), states.pointer("acc_delta"),
                                   count, 1.0, 0.9, 1e-6, weight_decay)
        host = states.host
        optim_ref.adadelta_step_([host["param"]], [grad], [host["square_avg"]],
                                 [host["acc_delta"]], 1.0, 0.9, 1e-6, weight_decay)
    states.check()


@pytest.mark.parametrize("count", OPTIM_COUNTS)
@pytest.mark.parametrize("lr_decay, weight_decay", [(0.0, 0.0), (0.1, 1e-2)])
def test_adagrad_step_matches_twin(cuda_runtime, device, count, lr_decay, weight_decay):
    rng = np.random.default_rng(count + 4)
    states = _States(device, count, ["state_sum"], rng)
    for step in range(1, OPTIM_STEPS + 1):
        grad = random(rng, (count,))
        cuda_runtime.adagrad_step(states.pointer("param"), device.put(grad),
                                  states.pointer("state_sum"), count, 1e-2, lr_decay,
                                  weight_decay, 1e-10, step)
        optim_ref.adagrad_step_([states.host["param"]], [grad], [states.host["state_sum"]],
                                1e-2, lr_decay, weight_decay, 1e-10, step)
    states.check()


# ---- normalization ---------------------------------------------------------------------------

# n, c, inner: BatchNorm1d (inner 1; a batch of several 256-sample chunks), images, and
# channels of more than 64 chunks of 4096.
BATCH_NORM_CASES = [(1, 1, 1), (2, 3, 5), (7, 4, 1), (64, 300, 1), (1000, 3, 1), (16, 8, 257),
                    (3, 2, 100_000)]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("case", BATCH_NORM_CASES, ids=lambda c: "n{}c{}l{}".format(*c))
def test_batch_norm_matches_twin(cuda_runtime, device, case, affine):
    n, c, inner = case
    rng = np.random.default_rng(n * c + inner)
    x = random(rng, case) * np.float32(3) + np.float32(1.5)
    x_ptr = device.put(x)
    mean_ptr, var_ptr = device.output((c,)), device.output((c,))
    cuda_runtime.batch_norm_statistics(mean_ptr, var_ptr, x_ptr, n, c, inner)
    want_mean, want_var = normalization_ref.batch_norm_statistics(x)
    mean, var = device.get(mean_ptr, (c,)), device.get(var_ptr, (c,))
    assert_close(mean, want_mean)
    assert_close(var, want_var)

    weight = random(rng, (c,)) if affine else None
    bias = random(rng, (c,)) if affine else None
    weight_ptr = device.put(weight) if affine else 0
    bias_ptr = device.put(bias) if affine else 0
    out_ptr, invstd_ptr = device.output(case), device.output((c,))
    cuda_runtime.batch_norm_forward(out_ptr, invstd_ptr, x_ptr, mean_ptr, var_ptr, weight_ptr,
                                    bias_ptr, n, c, inner, 1e-5)
    want_out, want_invstd = normalization_ref.batch_norm_forward(x, mean, var, weight, bias, 1e-5)
    invstd = device.get(invstd_ptr, (c,))
    assert_close(invstd, want_invstd)
    assert_close(device.get(out_ptr, case), want_out, atol=1e-5)

    grad_output = random(rng, case)
    grad_output_ptr = device.put(grad_output)
    for batch_statistics in (True, False):
        grad_x_ptr = device.output(case)
        grad_weight_ptr, grad_bias_ptr = device.output((c,)), device.output((c,))
        cuda_runtime.batch_norm_backward(grad_x_ptr, grad_weight_ptr, grad_bias_ptr,
                                         grad_output_ptr, x_ptr, mean_ptr, invstd_ptr,
                                         weight_ptr, n, c, inner, batch_statistics)
        want_x, want_weight, want_bias = normalization_ref.batch_norm_backward(
            grad_output, x, mean, invstd, weight, batch_statistics)
        assert_close(device.get(grad_x_ptr, case), want_x, atol=1e-5)
        assert_close(device.get(grad_weight_ptr, (c,)), want_weight, atol=1e-5)
        assert_close(device.get(grad_bias_ptr, (c,)), want_bias, atol=1e-5)


# rows, cols: one warp, several warps, rows longer than a block, column sums over chunks.
LAYER_NORM_CASES = [(1, 1), (3, 7), (5, 1000), (300, 33), (2, 5000), (1000, 64)]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("case", LAYER_NORM_CASES, ids=lambda c: "r{}c{}".format(*c))
def test_layer_norm_matches_twin(cuda_runtime, device, case, affine):
    rows, cols = case
    rng = np.random.default_rng(rows + cols)
    x = random(rng, case) * np.float32(2) - np.float32(0.5)
    weight = random(rng, (cols,)) if affine else None
    bias = random(rng, (cols,)) if affine else None
    x_ptr = device.put(x)
    weight_ptr = device.put(weight) if affine else 0
    bias_ptr = device.put(bias) if affine else 0
    out_ptr = device.output(case)
    mean_ptr, invstd_ptr = device.output((rows,)), device.output((rows,))
    cuda_runtime.layer_norm_forward(out_ptr, mean_ptr, invstd_ptr, x_ptr, weight_ptr, bias_ptr,
                                    rows, cols, 1e-5)
    want_out, want_mean, want_invstd = normalization_ref.layer_norm_forward(x, (cols,), weight,
                                                                            bias, 1e-5)
    mean, invstd = device.get(mean_ptr, (rows,)), device.get(invstd_ptr, (rows,))
    assert_close(mean, want_mean, atol=1e-6)
    assert_close(invstd, want_invstd)
    assert_close(device.get(out_ptr, case), want_out, atol=1e-5)

    grad_output = random(rng, case)
    grad_output_ptr = device.put(grad_output)
    grad_x_ptr = device.output(case)
    grad_weight_ptr, grad_bias_ptr = device.output((cols,)), device.output((cols,))
    cuda_runtime.layer_norm_backward(grad_x_ptr, grad_weight_ptr, grad_bias_ptr, grad_output_ptr,
                                     x_ptr, mean_ptr, invstd_ptr, weight_ptr, rows, cols)
    want_x, want_weight, want_bias = normalization_ref.layer_norm_backward(
        grad_output, x, mean, invstd, weight, (cols,))
    assert_close(device.get(grad_x_ptr, case), want_x, atol=1e-5)
    assert_close(device.get(grad_weight_ptr, (cols,)), want_weight, atol=1e-5)
    assert_close(device.get(grad_bias_ptr, (cols,)), want_bias, atol=1e-5)

    # Without the parameter gradients only grad_x is computed.
    grad_x_ptr = device.output(case)
    cuda_runtime.layer_norm_backward(grad_x_ptr, 0, 0, grad_output_ptr, x_ptr, mean_ptr,
                                     invstd_ptr, weight_ptr, rows, cols)
    assert_close(device.get(grad_x_ptr, case), want_x, atol=1e-5)


def test_normalization_is_deterministic(cuda_runtime, device):
    rng = np.random.default_rng(8)
    n, c, inner = 32, 3, 5000
    x_ptr = device.put(random(rng, (n, c, inner)))
    results = []
    for _ in range(2):
        mean_ptr, var_ptr = device.output((c,)), device.output((c,))
        cuda_runtime.batch_norm_statistics(mean_ptr, var_ptr, x_ptr, n, c, inner)
        results.append(np.concatenate([device.get(mean_ptr, (c,)), device.get(var_ptr, (c,))]))
    np.testing.assert_array_equal(results[0], results[1])


# ---- embedding -------------------------------------------------------------------------------

@pytest.mark.parametrize("count, num_embeddings, dim",
                         [(1, 1, 1), (17, 5, 3), (1000, 50, 129), (4096, 10, 64)])
def test_embedding_matches_twin(cuda_runtime, device, count, num_embeddings, dim):
    rng = np.random.default_rng(count + dim)
    weight = random(rng, (num_embeddings, dim))
    indices = rng.integers(0, num_embeddings, count).astype(np.int64)  # with repeats
    indices_ptr = device.put(indices)
    out_ptr = device.output((count, dim))
    error_ptr = device.put(np.zeros(1, np.int32))
    cuda_runtime.embedding_forward(out_ptr, error_ptr, device.put(weight), indices_ptr, count,
                                   num_embeddings, dim)
    np.testing.assert_array_equal(device.get(out_ptr, (count, dim)),
                                  embedding_ref.embedding_forward(weight, indices))
    assert device.get(error_ptr, (1,), np.int32)[0] == 0

    grad_output = random(rng, (count, dim))
    grad_output_ptr = device.put(grad_output)
    for padding_idx in (-1, num_embeddings // 2):
        grad_weight_ptr = device.output((num_embeddings, dim))
        cuda_runtime.embedding_backward(grad_weight_ptr, grad_output_ptr, indices_ptr, count,
                                        num_embeddings, dim, padding_idx)
        want = embedding_ref.embedding_backward(grad_output, indices, num_embeddings, padding_idx)
        # atomicAdd adds repeated indices in any order.
        assert_close(device.get(grad_weight_ptr, (num_embeddings, dim)), want, atol=1e-5)


def test_embedding_bad_index_sets_the_error_word(cuda_runtime, device):
    weight = np.arange(12, dtype=np.float32).reshape(4, 3)
    indices = np.array([1, 4, -1, 3], np.int64)
    out_ptr = device.output((4, 3))
    error_ptr = device.put(np.zeros(1, np.int32))
    cuda_runtime.embedding_forward(out_ptr, error_ptr, device.put(weight), device.put(indices), 4,
                                   4, 3)
    assert device.get(error_ptr, (1,), np.int32)[0] == 1
    out = device.get(out_ptr, (4, 3))
    np.testing.assert_array_equal(out[[0, 3]], weight[[1, 3]])
    np.testing.assert_array_equal(out[[1, 2]], 0)
