"""Hostile geometry: huge padding, kernels mostly over padding, huge strides, empty outputs.

A call must cost what it reads and writes (input, output, weights), never the size of
the padded input. Each timed case runs in a child process (a stuck kernel cannot be
interrupted in-process) under a time limit far above what it needs (< 0.5 s here) and
far below what the padded loops took (44 s for the first conv case, 5 s for the first
pooling one, hours for some others). The geometries are also compared between the
backends and with PyTorch: float32 tolerance rtol 1e-4, atol 1e-5 for the convolution
(sums of a few products), bit for bit for pooling (it selects, never adds).
"""
import json

import numpy as np
import pytest

from cunn._backends import get
from python_process import run_python

cpu = get("cpu")
ref = get("numpy")

TIME_LIMIT = 10.0  # seconds per case and backend, forward and backward together

# (input shape, weight shape, stride, padding): each makes the padded loops far too slow.
CONV_CASES = {
    # The case: no output channels, padding 2^16 (the input gradient swept 2^34
    # output positions).
    "empty_output_huge_padding": ((1, 4, 1, 1), (0, 4, 3, 3), 1, 2 ** 16),
    # A 1x1 input under a 1024x1024 kernel and padding 1023: a million outputs that each
    # read one input value; im2col would copy 2^40 values.
    "huge_kernel_big_output": ((1, 1, 1, 1), (1, 1, 1024, 1024), 1, 1023),
    # A kernel 8x the input, padding 2^15 with a stride that lands only on a few windows.
    "huge_padding_and_stride": ((2, 3, 5, 4), (2, 3, 40, 40), 2 ** 14, 2 ** 15),
    # Padding 2^12 around a 3x3 input: 2^26 padded positions, nine that matter, and an
    # output of 4x4 because of the stride.
    "huge_padding_small_output": ((1, 2, 3, 3), (3, 2, 3, 3), 2 ** 11 + 1, 2 ** 12),
}

# (input shape, kernel_size, stride, padding).
POOL_CASES = {
    # The case: a 2^31 - 1 kernel, padding 2^30 - 1, over a 1x1 input.
    "huge_kernel_tiny_input": ((1, 1, 1, 1), 2 ** 31 - 1, 1, 2 ** 30 - 1),
    # Huge kernel columns, a real input: every window reads the whole row.
    "huge_kernel_wide_input": ((2, 3, 4, 50), (3, 2 ** 30), 1, (1, 2 ** 29)),
    # Huge stride and padding: three windows.
    "huge_stride": ((1, 2, 6, 6), 2 ** 20, 2 ** 20, 2 ** 19),
}

_CHILD = """
import json, time
import cunn
import cunn.nn.functional as F

def conv(x_shape, w_shape, stride, padding):
    x = cunn.ones(*x_shape, requires_grad=True)
    w = cunn.zeros(*w_shape, requires_grad=True)
    F.conv2d(x, w, stride=stride, padding=padding).sum().backward()

def pool(x_shape, kernel, stride, padding):
    x = cunn.ones(*x_shape, requires_grad=True)
    F.max_pool2d(x, kernel, stride, padding).sum().backward()

times = {{}}
for backend in {backends!r}:
    with cunn.backend(backend):
        start = time.perf_counter()
        {call}(*{args!r})
        times[backend] = time.perf_counter() - start
print(json.dumps(times))
"""


def timed(call, args, backends=("cpu", "numpy")):
    code = _CHILD.format(call=call, args=tuple(args), backends=tuple(backends))
    # The child's own time limit: all backends, plus the interpreter's start.
    return json.loads(run_python(code, timeout=len(backends) * TIME_LIMIT + 30))


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_hostile_geometry_is_fast(case):
    x_shape, w_shape, stride, padding = CONV_CASES[case]
    times = timed("conv", (x_shape, w_shape, stride, padding))
    assert all(seconds < TIME_LIMIT for seconds in times.values()), times


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_hostile_geometry_is_fast(case):
    times = timed("pool", POOL_CASES[case])
    assert all(seconds < TIME_LIMIT for seconds in times.values()), times


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv_all(backend, x, weight, bias, stride, padding, grad_output):
    out = backend.conv2d_forward(x, weight, bias, stride, padding)
    grad_x = backend.conv2d_backward_input(grad_output, weight, x.shape, stride, padding)
    grad_w = backend.conv2d_backward_weight(grad_output, x, weight.shape, stride, padding)
    return out, grad_x, grad_w


# Small enough for every backend and for PyTorch, hostile in shape: kernels many times
# the input, padding far beyond the kernel, strides that skip most windows.
SMALL_CONV = [
    ((2, 3, 3, 4), (4, 3, 17, 15), (2, 3), (12, 10)),
    ((1, 2, 1, 1), (3, 2, 31, 29), (1, 1), (30, 28)),
    ((3, 1, 5, 2), (2, 1, 9, 33), (4, 1), (40, 16)),
    ((1, 4, 2, 3), (5, 4, 3, 3), (7, 5), (60, 61)),
    ((2, 2, 6, 5), (3, 2, 2, 3), (1, 1), (9, 0)),
    ((1, 1, 4, 4), (2, 1, 12, 12), (3, 3), (6, 6)),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", SMALL_CONV)
def test_conv2d_hostile_geometry_matches_reference(setting, x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    weight = rng.standard_normal(w_shape).astype(np.float32)
    bias = rng.standard_normal(w_shape[0]).astype(np.float32)
    out = ref.conv2d_forward(x, weight, bias, stride, padding)
    grad_output = rng.standard_normal(out.shape).astype(np.float32)
    want = conv_all(ref, x, weight, bias, stride, padding, grad_output)
    got = conv_all(cpu, x, weight, bias, stride, padding, grad_output)
    for name, g, w in zip(("output", "grad_input", "grad_weight"), got, want):
        assert g.shape == w.shape and g.dtype == np.float32, name
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", SMALL_CONV)
def test_conv2d_reference_hostile_geometry_matches_torch(x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(x_shape) * 7 + sum(w_shape))
    x = rng.standard_normal(x_shape)
    weight = rng.standard_normal(w_shape)
    bias = rng.standard_normal(w_shape[0])
    out = ref.conv2d_forward(x, weight, bias, stride, padding)
    grad_output = rng.standard_normal(out.shape)
    got = conv_all(ref, x, weight, bias, stride, padding, grad_output)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    t_out = torch.nn.functional.conv2d(tx, tw, torch.tensor(bias), stride=stride,
                                       padding=padding)
    t_out.backward(torch.tensor(grad_output))
    want = (t_out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy())
    for name, g, w in zip(("output", "grad_input", "grad_weight"), got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10, err_msg=name)


def test_conv2d_without_output_channels_under_huge_padding(setting):
    # The shapes, called on the kernels directly: the output is empty and nothing
    # flows back, whatever the padding.
    x = np.ones((1, 4, 1, 1), np.float32)
    weight = np.zeros((0, 4, 3, 3), np.float32)
    padding = (2 ** 16, 2 ** 16)
    for backend in (cpu, ref):
        out = backend.conv2d_forward(x, weight, None, (1, 1), padding)
        assert out.shape == (1, 0, 2 ** 17 - 1, 2 ** 17 - 1)
        grad_x = backend.conv2d_backward_input(out, weight, x.shape, (1, 1), padding)
        assert grad_x.shape == x.shape and not grad_x.any()
        grad_w = backend.conv2d_backward_weight(out, x, weight.shape, (1, 1), padding)
        assert grad_w.shape == weight.shape


SMALL_POOL = [
    ((2, 3, 3, 4), (9, 11), (1, 2), (4, 5)),
    ((1, 2, 1, 1), (2 ** 20, 7), (1, 3), (2 ** 19, 3)),
    ((1, 1, 5, 7), (3, 2 ** 25), (2 ** 22, 1), (1, 2 ** 24)),
    ((2, 2, 6, 5), (6, 5), (5, 4), (3, 2)),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding", SMALL_POOL)
def test_max_pool2d_hostile_geometry_matches_reference(setting, x_shape, kernel, stride,
                                                       padding):
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    x.flat[::5] = -np.inf  # windows of -inf alone report their first position inside
    out, indices = ref.max_pool2d_forward(x, kernel, stride, padding)
    got_out, got_indices = cpu.max_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(got_out.view(np.int32), out.view(np.int32))
    np.testing.assert_array_equal(got_indices, indices)
    grad_output = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_array_equal(cpu.max_pool2d_backward(grad_output, indices, x.shape),
                                  ref.max_pool2d_backward(grad_output, indices, x.shape))


@pytest.mark.parametrize("x_shape, kernel, stride, padding", SMALL_POOL[:1] + SMALL_POOL[3:])
def test_max_pool2d_reference_hostile_geometry_matches_torch(x_shape, kernel, stride, padding):
    # Only the geometries PyTorch can build (it materialises its padding).
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(x_shape) * 3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    out, indices = ref.max_pool2d_forward(x, kernel, stride, padding)
    t_out, t_indices = torch.nn.functional.max_pool2d(
        torch.tensor(x), kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(indices, t_indices.numpy())
