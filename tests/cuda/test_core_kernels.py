"""The core CUDA kernels (runtime, memory, elementwise, reduce, gemm, bias, activations,
softmax, losses) against their NumPy twins in cunn/_backends/numpy_ref.

Every test takes the runtime from the ``cuda_runtime`` fixture (tests/cuda/conftest.py) and
moves data only through its own functions (malloc, copy_from_host, copy_to_host), so the
tests also run against a simulated runtime with the same functions. Output buffers are
filled with garbage first, so a kernel that skips an element fails. Sizes cover 1, primes,
values just off the tile and warp sizes (16, 32, 64, 128, 256) and a large count.
"""
import math

import numpy as np
import pytest

from cunn._backends.numpy_ref import activation as ref_activation
from cunn._backends.numpy_ref.gemm import bias_grad as twin_bias_grad
from cunn._backends.numpy_ref.gemm import gemm as twin_gemm
from cunn._backends.numpy_ref import loss as ref_loss
from cunn._backends.numpy_ref import reduce as ref_reduce
from cunn._backends.numpy_ref import smooth_activation as ref_smooth
from cunn._backends.numpy_ref import softmax as ref_softmax

LARGE = 100_003  # past one grid of 256-thread blocks per warp lane, and prime


class Device:
    """Device buffers of one test, all freed when it ends."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.pointers = []

    def put(self, array):
        array = np.ascontiguousarray(array)
        pointer = self.empty(array.nbytes)
        self.runtime.copy_from_host(pointer, array)
        return pointer

    def empty(self, nbytes):
        pointer = self.runtime.malloc(max(int(nbytes), 1))
        self.pointers.append(pointer)
        return pointer

    def garbage(self, shape, dtype):
        """A buffer for an output, holding values a correct kernel never writes."""
        fill = {np.float32: np.nan, np.int64: -12345, np.uint8: 77, np.int32: 0}
        return self.put(np.full(shape, fill[np.dtype(dtype).type], dtype=dtype))

    def get(self, pointer, shape, dtype):
        out = np.empty(shape, dtype=dtype)
        self.runtime.copy_to_host(out, pointer)
        return out

    def free_all(self):
        for pointer in self.pointers:
            self.runtime.free(pointer)
        self.pointers = []


@pytest.fixture
def device(cuda_runtime):
    buffers = Device(cuda_runtime)
    yield buffers
    buffers.free_all()


def random_floats(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def element_strides(array):
    return [stride // array.itemsize for stride in array.strides]


# ---- runtime and memory ----

def test_runtime_reports_the_device(cuda_runtime):
    count = cuda_runtime.device_count()
    assert count >= 1
    current = cuda_runtime.current_device()
    assert 0 <= current < count
    assert isinstance(cuda_runtime.device_name(current), str)
    assert cuda_runtime.device_name(current)
    cuda_runtime.set_device(current)
    cuda_runtime.synchronize()
    with pytest.raises(IndexError):
        cuda_runtime.device_name(count)


def test_allocator_reuses_released_blocks(cuda_runtime):
    assert cuda_runtime.malloc(0) == 0
    cuda_runtime.free(0)  # ignored, like free(NULL)
    before = cuda_runtime.memory_stats()
    assert set(before) == {"allocated_bytes", "reserved_bytes", "device_malloc_calls",
                           "cache_hits"}
    first = cuda_runtime.malloc(1000)
    assert first != 0 and first % 256 == 0
    after_first = cuda_runtime.memory_stats()
    assert after_first["allocated_bytes"] >= before["allocated_bytes"] + 1000
    cuda_runtime.free(first)
    second = cuda_runtime.malloc(1000)
    stats = cuda_runtime.memory_stats()
    # The released block serves the same size again without a cudaMalloc.
    assert stats["device_malloc_calls"] == after_first["device_malloc_calls"]
    assert stats["cache_hits"] == after_first["cache_hits"] + 1
    assert second == first
    cuda_runtime.free(second)
    assert cuda_runtime.memory_stats()["allocated_bytes"] == before["allocated_bytes"]
    cuda_runtime.empty_cache()
    emptied = cuda_runtime.memory_stats()
    assert emptied["reserved_bytes"] == emptied["allocated_bytes"]
    with pytest.raises(ValueError):
        cuda_runtime.free(second)  # already released


def test_allocator_out_of_memory_is_memory_error(cuda_runtime):
    with pytest.raises(MemoryError):
        cuda_runtime.malloc(1 << 60)
    block = cuda_runtime.malloc(4096)  # still usable afterwards
    cuda_runtime.free(block)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.int32])
@pytest.mark.parametrize("count", [1, 7, LARGE])
def test_host_device_round_trip(device, dtype, count):
    rng = np.random.default_rng(count)
    host = rng.integers(0, 200, size=count).astype(dtype)
    source = device.put(host)
    target = device.empty(host.nbytes)
    device.runtime.copy_device(target, source, host.nbytes)
    np.testing.assert_array_equal(device.get(target, host.shape, dtype), host)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64])
@pytest.mark.parametrize("make_view", [
    lambda base: base.T,
    lambda base: base[::-1, 1:6],
    lambda base: base[:, ::-2].T,
    lambda base: np.broadcast_to(base[:1, 2:3], (4, 9)),
    lambda base: base[2:3, :],
    lambda base: base.reshape(5, 3, 4)[:, ::-1, 1:].transpose(2, 0, 1),
    lambda base: base.reshape(2, 1, 2, 1, 3, 1, 5, 1),  # 8 dims, size-1 axes
], ids=["transpose", "reversed_rows", "reversed_columns_transposed", "broadcast", "row",
        "three_dims", "eight_dims"])
def test_copy_strided_matches_numpy(device, dtype, make_view):
    base = np.arange(60, dtype=np.int64).reshape(6, 10).astype(dtype)
    view = make_view(base)
    base_pointer = device.put(base)
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    out = device.garbage(view.shape, dtype)
    device.runtime.copy_strided(out, base_pointer + start, base.itemsize, list(view.shape),
                                element_strides(view))
    np.testing.assert_array_equal(device.get(out, view.shape, dtype), np.ascontiguousarray(view))


@pytest.mark.parametrize("dtype,value", [("float32", -2.5), ("int64", -(2 ** 40) - 3),
                                         ("uint8", 1)])
@pytest.mark.parametrize("count", [0, 1, 257, LARGE])
def test_fill(device, dtype, value, count):
    pointer = device.garbage(count, dtype)
    device.runtime.fill(pointer, count, value, dtype)
    np.testing.assert_array_equal(device.get(pointer, count, dtype),
                                  np.full(count, value, dtype=dtype))


# ---- elementwise ----

ARITHMETIC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "maximum": np.maximum, "minimum": np.minimum, "pow": np.power}
COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
               "gt": np.greater, "ge": np.greater_equal}
BROADCASTS = [  # (shape of a, shape of b)
    ((1,), (1,)), ((LARGE,), (LARGE,)), ((7, 33), (7, 33)), ((7, 33), (33,)),
    ((5, 1, 3), (1, 4, 1)), ((2, 3, 1, 5), (3, 4, 1)), ((0, 3), (3,)),
]


def binary_operands(rng, shape_a, shape_b, dtype, op):
    if dtype == np.int64:
        return (rng.integers(-50, 50, size=shape_a), rng.integers(-50, 50, size=shape_b))
    a = random_floats(rng, shape_a, 3.0)
    b = random_floats(rng, shape_b, 3.0)
    if op == "pow":
        a = np.abs(a) + np.float32(0.1)
    elif a.size > 2 and b.size > 2:
        a.flat[1] = np.nan
        b.flat[2] = np.nan
        b.flat[0] = a.flat[0]  # an equal pair for the comparisons
    return a, b


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
@pytest.mark.parametrize("op", [*ARITHMETIC, *COMPARISONS])
def test_binary_matches_numpy(device, shapes, dtype, op):
    if dtype == np.int64 and op in ("div", "pow"):
        pytest.skip("div and pow take float32 operands only")
    rng = np.random.default_rng(len(op) * 31 + len(shapes[0]))
    a, b = binary_operands(rng, *shapes, dtype, op)
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    a_view, b_view = np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape)
    with np.errstate(all="ignore"):
        expected = {**ARITHMETIC, **COMPARISONS}[op](a_view, b_view)
    out_dtype = np.uint8 if op in COMPARISONS else dtype
    out = device.garbage(out_shape, out_dtype)
    device.runtime.binary(op, out, device.put(a), element_strides(a_view), device.put(b),
                          element_strides(b_view), list(out_shape), np.dtype(dtype).name)
    got = device.get(out, out_shape, out_dtype)
    if op == "pow":
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    else:  # one correctly rounded operation: exact
        np.testing.assert_array_equal(got, expected.astype(out_dtype))


def test_binary_reads_a_transposed_operand(device):
    rng = np.random.default_rng(5)
    a = random_floats(rng, (33, 65))
    b = random_floats(rng, (65, 33))
    out = device.garbage((65, 33), np.float32)
    device.runtime.binary("sub", out, device.put(a), [1, 65], device.put(b), [33, 1], [65, 33],
                          "float32")
    np.testing.assert_array_equal(device.get(out, (65, 33), np.float32), a.T - b)


UNARY = {"neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
         "sign": np.sign, "square": np.square, "reciprocal": np.reciprocal}


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("count", [1, 31, LARGE])
def test_unary_matches_numpy(device, op, count):
    rng = np.random.default_rng(count)
    x = random_floats(rng, count, 4.0)
    x[: min(count, 4)] = np.array([0.0, -0.0, np.nan, -3.0], np.float32)[: min(count, 4)]
    out = device.garbage(count, np.float32)
    device.runtime.unary(op, out, device.put(x), count)
    with np.errstate(all="ignore"):
        expected = UNARY[op](x)
    got = device.get(out, count, np.float32)
    if op in ("exp", "log"):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("op", [*ARITHMETIC, *COMPARISONS])
@pytest.mark.parametrize("reverse", [False, True])
def test_scalar_matches_numpy(device, op, reverse):
    rng = np.random.default_rng(11)
    x = random_floats(rng, 1001, 3.0)
    value = 1.5
    if op == "pow":
        x = np.abs(x) + np.float32(0.1)
    else:
        x[:3] = [np.nan, value, -0.0]
    out_dtype = np.uint8 if op in COMPARISONS else np.float32
    out = device.garbage(x.shape, out_dtype)
    device.runtime.scalar(op, out, device.put(x), x.size, value, reverse)
    function = {**ARITHMETIC, **COMPARISONS}[op]
    operands = (np.float32(value), x) if reverse else (x, np.float32(value))
    with np.errstate(all="ignore"):
        expected = function(*operands).astype(out_dtype)
    got = device.get(out, x.shape, out_dtype)
    if op == "pow":
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("out_dtype", ["float32", "int64", "uint8"])
@pytest.mark.parametrize("x_dtype", ["float32", "int64", "uint8"])
def test_cast_matches_astype(device, out_dtype, x_dtype):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 200, size=513)
    if x_dtype != "uint8" and out_dtype != "uint8":
        x = x - 100  # negative values too, where the target can hold them
    x = x.astype(x_dtype)
    out = device.garbage(x.shape, out_dtype)
    device.runtime.cast(out, out_dtype, device.put(x), x_dtype, x.size)
    np.testing.assert_array_equal(device.get(out, x.shape, out_dtype), x.astype(out_dtype))


def test_where(device):
    rng = np.random.default_rng(4)
    condition = (rng.random(LARGE) < 0.3).astype(np.uint8)
    a, b = random_floats(rng, LARGE), random_floats(rng, LARGE)
    out = device.garbage(LARGE, np.float32)
    device.runtime.where(out, device.put(condition), device.put(a), device.put(b), LARGE)
    np.testing.assert_array_equal(device.get(out, LARGE, np.float32), np.where(condition, a, b))


# ---- reductions ----

def sum_tolerance(count):
    """Absolute error allowed in a sum of `count` standard-normal float32 values, against
    the sum taken in float64: what float32 accumulation in any fixed order may drift (the
    twin itself sums a strided axis one row after another), far below one missing element."""
    return 1e-6 + 1e-7 * count

# (outer, length, inner): both the one-thread-per-output walk (inner >= 32 or a short
# length) and the one-block-per-output tree (long rows), and the edges between them.
REDUCE_SHAPES = [(1, 1, 1), (3, 31, 1), (3, 32, 1), (5, 1000, 1), (2, 257, 3), (4, 7, 32),
                 (2, 100, 33), (1, LARGE, 1), (3, 0, 4), (0, 5, 2)]


@pytest.mark.parametrize("shape", REDUCE_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_sum_matches_twin(device, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    if dtype == np.int64:
        x = rng.integers(-1000, 1000, size=shape)
    else:
        x = random_floats(rng, shape)
    outer, length, inner = shape
    out = device.garbage((outer, inner), dtype)
    device.runtime.sum(out, device.put(x), outer, length, inner, np.dtype(dtype).name)
    expected = ref_reduce.sum(x.astype(np.float64) if dtype == np.float32 else x, dims=1)
    got = device.get(out, (outer, inner), dtype)
    if dtype == np.int64:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=sum_tolerance(length))


def test_sum_is_deterministic(device):
    x = random_floats(np.random.default_rng(8), (3, 5000, 1))
    pointer = device.put(x)
    results = []
    for _ in range(3):
        out = device.garbage((3, 1), np.float32)
        device.runtime.sum(out, pointer, 3, 5000, 1, "float32")
        results.append(device.get(out, (3, 1), np.float32))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


@pytest.mark.parametrize("shape", [s for s in REDUCE_SHAPES if s[1] > 0], ids=str)
@pytest.mark.parametrize("special", ["ties", "nan", "plain"])
def test_max_matches_twin(device, shape, special):
    rng = np.random.default_rng(sum(shape) + len(special))
    outer, length, inner = shape
    if special == "ties":
        x = rng.integers(-3, 3, size=shape).astype(np.float32)  # many equal maxima
    else:
        x = random_floats(rng, shape)
    if special == "nan" and x.size:
        x[..., length // 2, :] = np.nan
        x[..., length - 1, :] = np.nan  # the first NaN must win
        x[0, 0, 0] = np.inf
    values = device.garbage((outer, inner), np.float32)
    indices = device.garbage((outer, inner), np.int64)
    device.runtime.max(values, indices, device.put(x), outer, length, inner)
    expected_values, expected_indices = ref_reduce.max(x, 1)
    np.testing.assert_array_equal(device.get(values, (outer, inner), np.float32),
                                  expected_values)
    np.testing.assert_array_equal(device.get(indices, (outer, inner), np.int64),
                                  expected_indices)
    # Without indices (pointer 0) the values are the same.
    values_only = device.garbage((outer, inner), np.float32)
    device.runtime.max(values_only, 0, device.put(x), outer, length, inner)
    np.testing.assert_array_equal(device.get(values_only, (outer, inner), np.float32),
                                  expected_values)


# ---- gemm ----

# (m, n, k): 1, primes, one off the 32, 64 and 128 tiles and the 16 and 8 k-steps; the
# small products take the 32 x 32 tiles, (520, 520) the 64 x 64 ones and (1030, 1100) the
# 128 x 128 ones (gemm.cu chooses by the number of tiles).
GEMM_SHAPES = [(1, 1, 1), (7, 5, 3), (64, 64, 16), (65, 63, 17), (129, 127, 9), (33, 200, 1),
               (3, 5, 0), (520, 520, 33), (1030, 1100, 67)]


def stored_matrix(rng, rows, columns, pad):
    """A rows x columns matrix inside a buffer with leading dimension columns + pad."""
    buffer = random_floats(rng, (rows, columns + pad))
    return buffer, buffer[:, :columns]


def gemm_tolerance(k):
    return dict(rtol=1e-4, atol=2e-6 * math.sqrt(k + 1))


@pytest.mark.parametrize("shape", GEMM_SHAPES, ids=str)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.5, 2.0)])
def test_gemm_matches_twin(device, shape, trans_a, trans_b, alpha, beta):
    m, n, k = shape
    rng = np.random.default_rng(m * 7 + n * 3 + k + trans_a * 2 + trans_b)
    pad = 3 if m < 200 else 0  # leading dimensions past the matrix width
    a_buffer, a = stored_matrix(rng, *((k, m) if trans_a else (m, k)), pad)
    b_buffer, b = stored_matrix(rng, *((n, k) if trans_b else (k, n)), pad)
    c_buffer, c = stored_matrix(rng, m, n, pad)
    if beta == 0.0:
        c_buffer[...] = np.nan  # beta == 0 must not read C
    expected_buffer = c_buffer.copy()
    twin_gemm(a, b, trans_a, trans_b, alpha, beta, out=expected_buffer[:, :n])
    c_pointer = device.put(c_buffer)
    device.runtime.gemm(trans_a, trans_b, m, n, k, alpha, device.put(a_buffer),
                        a_buffer.shape[1], device.put(b_buffer), b_buffer.shape[1], beta,
                        c_pointer, c_buffer.shape[1])
    got = device.get(c_pointer, c_buffer.shape, np.float32)
    np.testing.assert_allclose(got[:, :n], expected_buffer[:, :n], **gemm_tolerance(k))
    # The padding past column n is never written.
    np.testing.assert_array_equal(got[:, n:], c_buffer[:, n:])


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("share_b", [False, True])
def test_gemm_strided_batched_matches_twin(device, trans_a, trans_b, share_b):
    rng = np.random.default_rng(21)
    batch, m, n, k = 5, 37, 70, 19
    a = random_floats(rng, (batch,) + ((k, m) if trans_a else (m, k)))
    b = random_floats(rng, (1 if share_b else batch,) + ((n, k) if trans_b else (k, n)))
    c = random_floats(rng, (batch, m, n))
    expected = c.copy()
    for i in range(batch):
        twin_gemm(a[i], b[0 if share_b else i], trans_a, trans_b, 1.5, 0.5, out=expected[i])
    c_pointer = device.put(c)
    device.runtime.gemm_strided_batched(
        trans_a, trans_b, m, n, k, 1.5, device.put(a), a.shape[2], a[0].size, device.put(b),
        b.shape[2], 0 if share_b else b[0].size, 0.5, c_pointer, n, m * n, batch)
    np.testing.assert_allclose(device.get(c_pointer, c.shape, np.float32), expected,
                               **gemm_tolerance(k))


# ---- bias ----

BIAS_SHAPES = [(1, 1, 1), (5, 7, 1), (64, 40, 1), (3, 31, 1), (2, 3, 17), (4, 64, 49),
               (0, 5, 3), (LARGE, 3, 1)]


@pytest.mark.parametrize("shape", BIAS_SHAPES, ids=str)
def test_bias_add_and_grad_match_twin(device, shape):
    rng = np.random.default_rng(sum(shape))
    outer, channels, inner = shape
    x = random_floats(rng, shape)
    bias = random_floats(rng, channels)
    out = device.put(x)
    device.runtime.bias_add(out, device.put(bias), outer, channels, inner)
    np.testing.assert_array_equal(device.get(out, shape, np.float32), x + bias[:, None])
    grad = device.garbage(channels, np.float32)
    device.runtime.bias_grad(grad, device.put(x), outer, channels, inner)
    np.testing.assert_allclose(device.get(grad, channels, np.float32),
                               twin_bias_grad(x.astype(np.float64), 1), rtol=1e-5,
                               atol=sum_tolerance(outer * inner))


# ---- activations ----

def _gelu(approximate):
    return "tanh" if approximate else "none"


# kind -> (param0, param1, forward twin, backward twin (grad_output, saved), saved is output)
ACTIVATIONS = {
    "relu": (0.0, 0.0, ref_activation.relu_forward, ref_activation.relu_backward, False),
    "leaky_relu": (0.07, 0.0, lambda x: ref_activation.leaky_relu_forward(x, 0.07),
                   lambda g, x: ref_activation.leaky_relu_backward(g, x, 0.07), False),
    "sigmoid": (0.0, 0.0, ref_activation.sigmoid_forward, ref_activation.sigmoid_backward, True),
    "tanh": (0.0, 0.0, ref_activation.tanh_forward, ref_activation.tanh_backward, True),
    "gelu": (0.0, 0.0, lambda x: ref_smooth.gelu_forward(x, "none"),
             lambda g, x: ref_smooth.gelu_backward(g, x, "none"), False),
    "gelu_tanh": (1.0, 0.0, lambda x: ref_smooth.gelu_forward(x, "tanh"),
                  lambda g, x: ref_smooth.gelu_backward(g, x, "tanh"), False),
    "elu": (0.8, 0.0, lambda x: ref_smooth.elu_forward(x, 0.8),
            lambda g, x: ref_smooth.elu_backward(g, x, 0.8), False),
    "silu": (0.0, 0.0, ref_smooth.silu_forward, ref_smooth.silu_backward, False),
    "softplus": (2.0, 5.0, lambda x: ref_smooth.softplus_forward(x, 2.0, 5.0),
                 lambda g, x: ref_smooth.softplus_backward(g, x, 2.0, 5.0), False),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("count", [1, 33, LARGE])
def test_activation_matches_twin(device, name, count):
    param0, param1, forward, backward, saves_output = ACTIVATIONS[name]
    kind = name.split("_tanh")[0] if name == "gelu_tanh" else name
    rng = np.random.default_rng(count + len(name))
    x = random_floats(rng, count, 4.0)
    specials = np.array([0.0, -0.0, 60.0, -60.0, 2.5, -1e-3], np.float32)
    x[: min(count, specials.size)] = specials[: min(count, specials.size)]
    grad_output = random_floats(rng, count)
    out = device.garbage(count, np.float32)
    device.runtime.activation_forward(kind, out, device.put(x), count, param0, param1)
    expected = forward(x)
    got = device.get(out, count, np.float32)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)
    saved = expected if saves_output else x
    grad_input = device.garbage(count, np.float32)
    device.runtime.activation_backward(kind, grad_input, device.put(grad_output),
                                       device.put(saved), count, param0, param1)
    # The tanh form's gradient subtracts nearly equal terms (1 + t, 1 - t * t with t near
    # -1) for x around -3 to -5: one ulp of tanhf there moves the result by up to ~5e-6.
    atol = 3e-5 if name == "gelu_tanh" else 1e-6
    np.testing.assert_allclose(device.get(grad_input, count, np.float32),
                               backward(grad_output, saved), rtol=1e-5, atol=atol)


def test_relu_keeps_negative_zero_and_nan(device):
    x = np.array([-0.0, np.nan, -1.0, 2.0], np.float32)
    out = device.garbage(4, np.float32)
    device.runtime.activation_forward("relu", out, device.put(x), 4, 0.0, 0.0)
    got = device.get(out, 4, np.float32)
    expected = ref_activation.relu_forward(x)
    np.testing.assert_array_equal(got, expected)
    assert np.signbit(got[0]) == np.signbit(expected[0])


# ---- softmax ----

SOFTMAX_SHAPES = [(1, 1, 1), (3, 10, 1), (2, 31, 1), (2, 32, 1), (4, 1000, 1), (5, 33, 3),
                  (2, 50, 40), (1, 7, 129), (300, 257, 1)]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=str)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_twin(device, shape, log):
    rng = np.random.default_rng(sum(shape) + log)
    outer, length, inner = shape
    x = random_floats(rng, shape, 5.0)
    x[0, 0, 0] = 80.0  # exp would overflow without the max shift
    grad_output = random_floats(rng, shape)
    out = device.garbage(shape, np.float32)
    device.runtime.softmax_forward(out, device.put(x), outer, length, inner, log)
    forward = ref_softmax.log_softmax_forward if log else ref_softmax.softmax_forward
    expected = forward(x, 1)
    np.testing.assert_allclose(device.get(out, shape, np.float32), expected, rtol=1e-5,
                               atol=1e-6)
    grad_input = device.garbage(shape, np.float32)
    device.runtime.softmax_backward(grad_input, device.put(grad_output), device.put(expected),
                                    outer, length, inner, log)
    backward = ref_softmax.log_softmax_backward if log else ref_softmax.softmax_backward
    np.testing.assert_allclose(device.get(grad_input, shape, np.float32),
                               backward(grad_output, expected, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("length", [5, 300])
def test_softmax_nan_and_all_negative_infinity_rows(device, length):
    x = np.zeros((3, length), np.float32)
    x[0, 1] = np.nan
    x[1, :] = -np.inf
    out = device.garbage(x.shape, np.float32)
    device.runtime.softmax_forward(out, device.put(x), 3, length, 1, False)
    with np.errstate(all="ignore"):
        expected = ref_softmax.softmax_forward(x, 1)
    np.testing.assert_allclose(device.get(out, x.shape, np.float32), expected, rtol=1e-6)


# ---- losses ----

@pytest.mark.parametrize("n,c", [(1, 1), (7, 5), (257, 33), (LARGE, 3)])
@pytest.mark.parametrize("class_weight", [False, True])
def test_nll_forward_matches_twin(device, n, c, class_weight):
    rng = np.random.default_rng(n + c)
    log_probs = ref_softmax.log_softmax_forward(random_floats(rng, (n, c)), 1)
    labels = rng.integers(0, c, size=n)
    ignore_index = -100
    if n > 2:
        labels[1] = ignore_index
    weight = rng.uniform(0.5, 2.0, size=c).astype(np.float32) if class_weight else None
    losses = device.garbage(n, np.float32)
    weights = device.garbage(n, np.float32)
    error = device.put(np.zeros(1, np.int32))
    device.runtime.nll_forward(losses, weights, error, device.put(log_probs), device.put(labels),
                               device.put(weight) if class_weight else 0, n, c, ignore_index)
    expected = ref_loss.nll_loss_forward(log_probs, labels, "none", weight, ignore_index)
    np.testing.assert_allclose(device.get(losses, n, np.float32), expected, rtol=1e-6)
    kept = labels != ignore_index
    expected_weights = np.where(kept, (weight if class_weight else np.ones(c))[
        np.where(kept, labels, 0)], 0).astype(np.float32)
    np.testing.assert_array_equal(device.get(weights, n, np.float32), expected_weights)
    assert device.get(error, 1, np.int32)[0] == 0


def test_nll_forward_flags_a_bad_label(device):
    n, c = 4, 3
    log_probs = np.full((n, c), -1.0, np.float32)
    labels = np.array([0, 3, -100, -1])
    losses, weights = device.garbage(n, np.float32), device.garbage(n, np.float32)
    error = device.put(np.zeros(1, np.int32))
    device.runtime.nll_forward(losses, weights, error, device.put(log_probs), device.put(labels),
                               0, n, c, -100)
    assert device.get(error, 1, np.int32)[0] == 1
    np.testing.assert_array_equal(device.get(losses, n, np.float32), [1, 0, 0, 0])
    np.testing.assert_array_equal(device.get(weights, n, np.float32), [1, 0, 0, 0])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("class_weight", [False, True])
@pytest.mark.parametrize("n,c", [(1, 1), (9, 7), (300, 33)])
def test_nll_backward_matches_twin(device, reduction, class_weight, n, c):
    rng = np.random.default_rng(n * c + len(reduction))
    labels = rng.integers(0, c, size=n)
    ignore_index = 2
    if n > 3:
        labels[3] = ignore_index
    weight = rng.uniform(0.5, 2.0, size=c).astype(np.float32) if class_weight else None
    kept = labels != ignore_index
    if reduction == "none":
        grad_output, stride = random_floats(rng, n), 1
    else:
        grad_output, stride = np.array(rng.standard_normal(), np.float32), 0
    divisor_pointer = 0
    if reduction == "mean":
        summed = (weight[labels[kept]].sum() if class_weight else kept.sum())
        divisor_pointer = device.put(np.array([summed], np.float32))
    grad = device.garbage((n, c), np.float32)
    device.runtime.nll_backward(grad, device.put(grad_output.reshape(-1)), stride,
                                divisor_pointer, device.put(labels),
                                device.put(weight) if class_weight else 0, n, c, ignore_index)
    expected = ref_loss.nll_loss_backward(grad_output, labels, c, reduction, weight,
                                          ignore_index)
    np.testing.assert_allclose(device.get(grad, (n, c), np.float32), expected, rtol=1e-6,
                               atol=1e-7)


def _twin_pointwise(kind):
    """(forward(input, target, reduction, weight, pos_weight, param),
    backward(grad_output, input, target, reduction, weight, pos_weight, param))."""
    plain = {"mse": "mse_loss", "l1": "l1_loss"}
    if kind in plain:
        forward = getattr(ref_loss, plain[kind] + "_forward")
        backward = getattr(ref_loss, plain[kind] + "_backward")
        return (lambda x, t, r, w, pw, p: forward(x, t, r),
                lambda g, x, t, r, w, pw, p: backward(g, x, t, r))
    if kind in ("smooth_l1", "huber"):
        forward = getattr(ref_loss, kind + "_loss_forward")
        backward = getattr(ref_loss, kind + "_loss_backward")
        return (lambda x, t, r, w, pw, p: forward(x, t, r, p),
                lambda g, x, t, r, w, pw, p: backward(g, x, t, r, p))
    if kind == "bce":
        return (lambda x, t, r, w, pw, p: ref_loss.binary_cross_entropy_forward(x, t, r, w),
                lambda g, x, t, r, w, pw, p: ref_loss.binary_cross_entropy_backward(
                    g, x, t, r, w))
    if kind == "bce_with_logits":
        return (lambda x, t, r, w, pw, p:
                ref_loss.binary_cross_entropy_with_logits_forward(x, t, r, w, pw),
                lambda g, x, t, r, w, pw, p:
                ref_loss.binary_cross_entropy_with_logits_backward(g, x, t, r, w, pw))
    log_target = kind == "kl_div_log_target"
    return (lambda x, t, r, w, pw, p: ref_loss.kl_div_forward(x, t, r, log_target),
            lambda g, x, t, r, w, pw, p: ref_loss.kl_div_backward(g, x, t, r, log_target))


POINTWISE = [("mse", 0.0), ("l1", 0.0), ("smooth_l1", 1.0), ("smooth_l1", 0.0),
             ("huber", 0.7), ("bce", 0.0), ("bce_with_logits", 0.0), ("kl_div", 0.0),
             ("kl_div_log_target", 0.0)]


def pointwise_inputs(rng, kind, count):
    if kind == "bce":
        x = rng.uniform(0.01, 0.99, count).astype(np.float32)
        x[: min(count, 2)] = [0.0, 1.0][: min(count, 2)]  # the clamped logs
        t = rng.uniform(0, 1, count).astype(np.float32)
    elif kind == "kl_div":
        x = random_floats(rng, count)
        t = rng.uniform(0, 1, count).astype(np.float32)
        t[: min(count, 1)] = 0.0  # 0 log 0 = 0
    else:
        x = random_floats(rng, count, 2.0)
        t = random_floats(rng, count, 2.0)
    if count > 3 and kind in ("l1", "smooth_l1", "huber"):
        t[3] = x[3]  # a zero difference
    return x, t


@pytest.mark.parametrize("kind,param", POINTWISE, ids=lambda v: str(v))
@pytest.mark.parametrize("count", [1, 37, LARGE])
@pytest.mark.parametrize("weighted", [False, True])
def test_pointwise_loss_matches_twin(device, kind, param, count, weighted):
    rng = np.random.default_rng(count + len(kind))
    x, t = pointwise_inputs(rng, kind, count)
    takes_weight = kind in ("bce", "bce_with_logits")
    if weighted and not takes_weight:
        pytest.skip("the twin takes a per-element weight only for the binary cross entropies")
    weight = rng.uniform(0.2, 2.0, count).astype(np.float32) if weighted else None
    pos_weight = (rng.uniform(0.5, 3.0, count).astype(np.float32)
                  if weighted and kind == "bce_with_logits" else None)
    pointers = [device.put(v) if v is not None else 0 for v in (x, t, weight, pos_weight)]
    twin_forward, twin_backward = _twin_pointwise(kind)

    out = device.garbage(count, np.float32)
    device.runtime.pointwise_loss_forward(kind, out, *pointers, count, param)
    with np.errstate(all="ignore"):
        expected = twin_forward(x, t, "none", weight, pos_weight, param)
    np.testing.assert_allclose(device.get(out, count, np.float32), expected, rtol=1e-5,
                               atol=1e-6)

    # reduction "none": one grad_output per element; "mean": a 0-d grad_output, scale 1/count
    grad_output = random_floats(rng, count)
    grad_input = device.garbage(count, np.float32)
    input_pointer, target_pointer, weight_pointer, pos_weight_pointer = pointers
    device.runtime.pointwise_loss_backward(kind, grad_input, device.put(grad_output), 1,
                                           input_pointer, target_pointer, weight_pointer,
                                           pos_weight_pointer, count, param, 1.0)
    with np.errstate(all="ignore"):
        expected = twin_backward(grad_output, x, t, "none", weight, pos_weight, param)
    np.testing.assert_allclose(device.get(grad_input, count, np.float32), expected, rtol=1e-5,
                               atol=1e-6)
    scalar = np.array([1.7], np.float32)
    device.runtime.pointwise_loss_backward(kind, grad_input, device.put(scalar), 0,
                                           input_pointer, target_pointer, weight_pointer,
                                           pos_weight_pointer, count, param, 1.0 / count)
    with np.errstate(all="ignore"):
        expected = twin_backward(scalar.reshape(()), x, t, "mean", weight, pos_weight, param)
    np.testing.assert_allclose(device.get(grad_input, count, np.float32), expected, rtol=1e-5,
                               atol=1e-7)


def test_pointwise_loss_weight_multiplies_any_kind(device):
    rng = np.random.default_rng(2)
    x, t = random_floats(rng, 50), random_floats(rng, 50)
    weight = rng.uniform(0.2, 2.0, 50).astype(np.float32)
    out = device.garbage(50, np.float32)
    device.runtime.pointwise_loss_forward("mse", out, device.put(x), device.put(t),
                                          device.put(weight), 0, 50, 0.0)
    np.testing.assert_allclose(device.get(out, 50, np.float32),
                               ref_loss.mse_loss_forward(x, t, "none") * weight, rtol=1e-6)


# ---- argument checks (ValueError/TypeError before anything reaches the device) ----

class TestArgumentChecks:
    def test_unknown_names(self, device):
        pointer = device.put(np.zeros(4, np.float32))
        with pytest.raises(ValueError, match="op"):
            device.runtime.unary("cube", pointer, pointer, 4)
        with pytest.raises(ValueError, match="op"):
            device.runtime.binary("mod", pointer, pointer, [1], pointer, [1], [4], "float32")
        with pytest.raises(ValueError, match="dtype"):
            device.runtime.fill(pointer, 4, 0, "float16")
        with pytest.raises(ValueError, match="kind"):
            device.runtime.activation_forward("swish", pointer, pointer, 4, 0.0, 0.0)
        with pytest.raises(ValueError, match="kind"):
            device.runtime.pointwise_loss_forward("hinge", pointer, pointer, pointer, 0, 0, 4,
                                                  0.0)
        with pytest.raises(ValueError):
            device.runtime.binary("div", pointer, pointer, [1], pointer, [1], [2], "int64")

    def test_sizes_pointers_and_strides(self, device):
        pointer = device.put(np.zeros(4, np.float32))
        with pytest.raises(ValueError):
            device.runtime.unary("neg", pointer, pointer, -1)
        with pytest.raises(ValueError):
            device.runtime.unary("neg", 0, pointer, 4)
        with pytest.raises(ValueError):
            device.runtime.binary("add", pointer, pointer, [1, 1], pointer, [1], [2, 2],
                                  "float32")
        with pytest.raises(ValueError):
            device.runtime.copy_strided(pointer, pointer, 4, [1] * 9, [0] * 9)
        with pytest.raises(ValueError):
            device.runtime.copy_strided(pointer, pointer, 2, [2], [1])
        with pytest.raises(ValueError):
            device.runtime.gemm(False, False, 2, 2, 2, 1.0, pointer, 1, pointer, 2, 0.0,
                                pointer, 2)  # lda < k
        device.runtime.unary("neg", 0, 0, 0)  # nothing to do: no pointer needed

    def test_host_arrays(self, device):
        pointer = device.put(np.zeros(8, np.float32))
        with pytest.raises(ValueError):
            device.runtime.copy_to_host(np.zeros((4, 4), np.float32)[:, ::2], pointer)
        read_only = np.zeros(8, np.float32)
        read_only.setflags(write=False)
        with pytest.raises(ValueError):
            device.runtime.copy_to_host(read_only, pointer)
        with pytest.raises(ValueError):
            device.runtime.copy_from_host(pointer, np.zeros((4, 4), np.float32)[:, ::2])
        with pytest.raises(TypeError):
            device.runtime.copy_to_host([0.0] * 8, pointer)
