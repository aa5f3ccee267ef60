"""Every kernel of the cuda backend, on device arrays (simulated runtime), against the NumPy
twin on the same random inputs: odd sizes, broadcasting, every option and reduction.

The simulator computes with the twins, so these tests check the backend's composition:
layouts, strides, pointers, sizes handed to the runtime, and the formulas composed in
Python (losses with options, reductions). Tolerances: rtol 1e-5 / atol 1e-6 elementwise,
1e-4 where a result is a sum the backend orders differently from the twin (GEMM,
reductions composed from several kernels).
"""
import numpy as np
import pytest

import cunn._backends.cuda as cuda
from cunn._backends import numpy_ref as twin

from .helpers import assert_same, on_device, on_host

rng = np.random.default_rng(20)


def f(*shape, low=None, high=None):
    if low is not None:
        return rng.uniform(low, high, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def labels(batch, classes, ignore=None):
    values = rng.integers(0, classes, batch).astype(np.int64)
    if ignore is not None:
        values[::3] = ignore
    return values


def scalar(value=0.7):
    return np.array(value, np.float32)


def softmax_rows(shape):
    x = np.exp(f(*shape))
    return (x / x.sum(axis=-1, keepdims=True)).astype(np.float32)


CASES = []


def case(name, *args, tolerance=1e-5, **kwargs):
    CASES.append(pytest.param(name, args, kwargs, tolerance,
                              id=f"{name}-{sum(1 for c in CASES if c.values[0] == name)}"))


# gemm family
for trans_a, trans_b in ((False, False), (True, False), (False, True), (True, True)):
    a = f(5, 7) if trans_a else f(7, 5)
    b = f(3, 5) if trans_b else f(5, 3)
    case("gemm", a, b, trans_a, trans_b, 0.5, tolerance=1e-4)
case("gemm", f(7, 5), f(5, 3), out=f(7, 3), beta=0.25, alpha=2.0, tolerance=1e-4)
case("gemm", f(1, 1), f(1, 1))
case("gemm", f(4, 0), f(0, 3))
case("linear_forward", f(6, 5), f(4, 5), f(4), tolerance=1e-4)
case("linear_forward", f(1, 9), f(3, 9), None, tolerance=1e-4)
case("linear_forward", f(0, 5), f(4, 5), f(4))
case("linear_backward", f(6, 4), f(6, 5), f(4, 5), True, True, True, tolerance=1e-4)
case("linear_backward", f(6, 4), f(6, 5), f(4, 5), False, True, False, tolerance=1e-4)
case("bias_grad", f(3, 4, 5), 1, tolerance=1e-4)
case("bias_grad", f(6, 4), 1, tolerance=1e-4)
case("bias_grad", f(2, 3, 4, 5), -3, tolerance=1e-4)
case("bias_grad", f(0, 4), 1)
_x, _weights, _biases, _relus = f(6, 5), [f(4, 5), f(3, 4), f(2, 3)], [f(4), None, f(2)], \
    (True, False, True)
case("linear_chain_forward", _x, _weights, _biases, _relus, tolerance=1e-4)
_outputs = twin.linear_chain_forward(_x, _weights, _biases, _relus)[1]
case("linear_chain_backward", f(6, 2), _x, _outputs, _weights, _relus, True,
     (True, False, True), (True, True, False), tolerance=1e-4)

# elementwise: broadcasting both ways, and a number
for name in ("add", "sub", "mul", "div"):
    case(name, f(3, 1, 4), f(5, 4) if name != "div" else f(5, 4, low=0.5, high=2))
    case(name, f(7), scalar(1.5))
    case(name, scalar(-2.0), f(2, 3, low=0.5, high=2))

# activations and softmax
for name, extra in (("relu", ()), ("leaky_relu", (0.1,)), ("elu", (0.7,)), ("silu", ()),
                    ("softplus", (2.0, 3.0)), ("gelu", ("none",)), ("gelu", ("tanh",))):
    x = f(5, 7) * 3
    x[0, :3] = (0.0, -0.0, 20.0)
    case(name + "_forward", x, *extra)
    case(name + "_backward", f(5, 7), x, *extra)
for name in ("sigmoid", "tanh"):
    x = f(4, 9) * 4
    case(name + "_forward", x)
    case(name + "_backward", f(4, 9), getattr(twin, name + "_forward")(x))
for name in ("softmax", "log_softmax"):
    for dim in (0, 1, -1):
        x = f(3, 4, 5) * 5
        case(name + "_forward", x, dim)
        case(name + "_backward", f(3, 4, 5), getattr(twin, name + "_forward")(x, dim), dim)
    case(name + "_forward", f(1, 1), 1)

# reductions
case("sum", f(3, 4, 5), (0, 2), False, tolerance=1e-4)
case("sum", f(3, 4, 5), None, True, tolerance=1e-4)
case("sum", f(3, 4, 5), (1,), False, tolerance=1e-4)
case("sum", f(3, 4, 5), (-1, 0), True, tolerance=1e-4)
case("sum", f(7), None, False, tolerance=1e-4)
case("sum", f(0, 3), (0,), False)
_ties = np.array([[1, 3, 3, 2], [np.nan, 1, np.nan, 5], [-np.inf, -np.inf, -np.inf, -np.inf]],
                 np.float32)
case("max", _ties, 1, False)
case("max", f(3, 4, 5), 1, True)
case("max", f(3, 4, 5), -1, False)
case("max", f(3, 4, 5), 0, False)

# class losses, every option
for reduction in ("mean", "sum", "none"):
    grad = scalar(1.3) if reduction != "none" else f(6)
    for options in ({}, {"weight": f(5, low=0.5, high=2)}, {"ignore_index": 2},
                    {"label_smoothing": 0.2}, {"weight": f(5, low=0.5, high=2),
                                               "ignore_index": 1, "label_smoothing": 0.1}):
        target = labels(6, 5, options.get("ignore_index"))
        logits = f(6, 5) * 3
        case("cross_entropy_forward", logits, target, reduction, **options)
        log_probs = twin.log_softmax_forward(logits, 1)
        case("cross_entropy_backward", grad, log_probs, target, reduction, **options)
        if "label_smoothing" not in options:
            case("nll_loss_forward", log_probs, target, reduction, **options)
            case("nll_loss_backward", grad, target, 5, reduction, **options)
    for options in ({}, {"label_smoothing": 0.3}, {"weight": f(5, low=0.5, high=2)}):
        probabilities, logits = softmax_rows((6, 5)), f(6, 5)
        case("cross_entropy_forward", logits, probabilities, reduction, **options)
        case("cross_entropy_backward", grad, twin.log_softmax_forward(logits, 1),
             probabilities, reduction, **options)
case("cross_entropy_forward", f(6, 5), labels(6, 5, -100) * 0 - 100, "mean")  # all ignored
case("cross_entropy_backward", scalar(), twin.log_softmax_forward(f(4, 3), 1),
     np.full(4, -100, np.int64), "mean")

# pointwise losses
for reduction in ("mean", "sum", "none"):
    shape = (4, 7)
    grad = scalar(0.9) if reduction != "none" else f(*shape)
    for name, make_input, make_target, options in (
            ("mse_loss", f, f, {}), ("l1_loss", f, f, {}),
            ("smooth_l1_loss", f, f, {"beta": 0.5}), ("huber_loss", f, f, {"delta": 0.8}),
            ("kl_div", lambda *s: np.log(softmax_rows(s)), lambda *s: softmax_rows(s), {}),
            ("kl_div", lambda *s: np.log(softmax_rows(s)),
             lambda *s: np.log(softmax_rows(s)), {"log_target": True}),
            ("binary_cross_entropy", lambda *s: f(*s, low=0.02, high=0.98),
             lambda *s: f(*s, low=0, high=1), {}),
            ("binary_cross_entropy", lambda *s: f(*s, low=0.02, high=0.98),
             lambda *s: f(*s, low=0, high=1), {"weight": f(*shape, low=0, high=2)}),
            ("binary_cross_entropy_with_logits", f, lambda *s: f(*s, low=0, high=1), {}),
            ("binary_cross_entropy_with_logits", f, lambda *s: f(*s, low=0, high=1),
             {"weight": f(*shape, low=0, high=2), "pos_weight": f(*shape, low=0.5, high=3)})):
        x, target = make_input(*shape), make_target(*shape)
        case(name + "_forward", x, target, reduction, tolerance=1e-5, **options)
        case(name + "_backward", grad, x, target, reduction, **options)
case("mse_loss_forward", f(0, 3), f(0, 3), "mean")

# conv2d and pooling
for x_shape, w_shape, stride, padding in (((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 1)),
                                          ((1, 1, 5, 5), (2, 1, 5, 5), (1, 1), (0, 0)),
                                          ((3, 2, 4, 9), (1, 2, 1, 3), (1, 3), (0, 2))):
    x, weight = f(*x_shape), f(*w_shape)
    case("conv2d_forward", x, weight, f(w_shape[0]), stride, padding, tolerance=1e-4)
    case("conv2d_forward", x, weight, None, stride, padding, tolerance=1e-4)
    out = twin.conv2d_forward(x, weight, None, stride, padding)
    case("conv2d_backward_input", f(*out.shape), weight, x_shape, stride, padding, tolerance=1e-4)
    case("conv2d_backward_weight", f(*out.shape), x, w_shape, stride, padding, tolerance=1e-4)
for kernel, stride, padding in (((3, 2), (2, 2), (1, 1)), ((2, 2), (2, 2), (0, 0)),
                                ((3, 3), (1, 1), (1, 1))):
    x = f(2, 3, 7, 6)
    x[0, 0, :2, :2] = np.nan
    case("max_pool2d_forward", x, kernel, stride, padding)
    values, indices = twin.max_pool2d_forward(x, kernel, stride, padding)
    case("max_pool2d_backward", f(*values.shape), indices, x.shape)
    for count_include_pad in (True, False):
        case("avg_pool2d_forward", x, kernel, stride, padding, count_include_pad)
        out = twin.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)
        case("avg_pool2d_backward", f(*out.shape), x.shape, kernel, stride, padding,
             count_include_pad)
for size in ((3, 2), (1, 1), (7, 6)):
    case("adaptive_avg_pool2d_forward", f(2, 3, 7, 6), size)
    case("adaptive_avg_pool2d_backward", f(2, 3, *size), (2, 3, 7, 6))

# dropout
_mask = rng.random((4, 6)) >= 0.3
case("dropout_forward", f(4, 6), _mask, 1 / 0.7)
case("dropout_backward", f(4, 6), _mask.astype(np.uint8), 1 / 0.7)
case("dropout2d_forward", f(4, 6, 3, 2), _mask, 2.0)
case("dropout2d_backward", f(4, 6, 5), _mask, 2.0)

# normalization
for shape in ((4, 3, 5), (6, 2), (2, 3, 2, 3)):
    x = f(*shape) * 2 + 1
    case("batch_norm_statistics", x, tolerance=1e-4)
    mean, var = twin.batch_norm_statistics(x)
    channels = shape[1]
    for weight, bias in ((f(channels), f(channels)), (None, None)):
        case("batch_norm_forward", x, mean, var, weight, bias, 1e-5, tolerance=1e-4)
        invstd = twin.batch_norm_forward(x, mean, var, weight, bias, 1e-5)[1]
        for batch_statistics in (True, False):
            case("batch_norm_backward", f(*shape), x, mean, invstd, weight, batch_statistics,
                 tolerance=1e-4)
for shape, normalized in (((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)), ((3, 1), (1,))):
    x = f(*shape) * 2 + 1
    size = int(np.prod(normalized))
    for weight, bias in ((f(*normalized), f(*normalized)), (None, None)):
        case("layer_norm_forward", x, normalized, weight, bias, 1e-5, tolerance=1e-4)
        _, mean, invstd = twin.layer_norm_forward(x, normalized, weight, bias, 1e-5)
        case("layer_norm_backward", f(*shape), x, mean, invstd, weight, normalized,
             tolerance=1e-4)

# embedding
_indices = rng.integers(0, 7, (3, 5)).astype(np.int64)
case("embedding_forward", f(7, 4), _indices)
case("embedding_backward", f(3, 5, 4), _indices, 7, 2, tolerance=1e-5)
case("embedding_backward", f(3, 5, 4), _indices, 7, tolerance=1e-5)


@pytest.mark.parametrize("name, args, kwargs, tolerance", CASES)
def test_kernel_matches_the_twin(name, args, kwargs, tolerance):
    device_args, device_kwargs = on_device(args), on_device(kwargs)  # before gemm's out= changes
    expected = getattr(twin, name)(*args, **kwargs)
    actual = getattr(cuda, name)(*device_args, **device_kwargs)
    assert_same(actual, expected, rtol=tolerance, atol=tolerance / 10)


OPTIMIZER_CASES = [
    ("sgd_step_", lambda p: ([], 0.1, 0.0, 0.0, 0.0, False, False)),
    ("sgd_step_", lambda p: ([f(*a.shape) for a in p], 0.1, 0.9, 0.1, 0.01, False, False)),
    ("sgd_step_", lambda p: ([f(*a.shape) for a in p], 0.1, 0.9, 0.0, 0.01, True, True)),
    ("adam_step_", lambda p: ([f(*a.shape) for a in p], [f(*a.shape) ** 2 for a in p], 1e-2,
                              0.9, 0.999, 1e-8, 0.01, 3, False)),
    ("adam_step_", lambda p: ([f(*a.shape) for a in p], [f(*a.shape) ** 2 for a in p], 1e-2,
                              0.9, 0.999, 1e-8, 0.01, 1, True, [f(*a.shape) ** 2 for a in p])),
    ("rmsprop_step_", lambda p: ([f(*a.shape) ** 2 for a in p], [], [], 1e-2, 0.99, 1e-8, 0.0,
                                 0.0, False)),
    ("rmsprop_step_", lambda p: ([f(*a.shape) ** 2 + 1 for a in p], [f(*a.shape) for a in p],
                                 [f(*a.shape) * 0.1 for a in p], 1e-2, 0.9, 1e-8, 0.01, 0.5,
                                 True)),
    ("adadelta_step_", lambda p: ([f(*a.shape) ** 2 for a in p], [f(*a.shape) ** 2 for a in p],
                                  1.0, 0.9, 1e-6, 0.01)),
    ("adagrad_step_", lambda p: ([f(*a.shape) ** 2 for a in p], 1e-2, 0.01, 0.01, 1e-10, 4)),
]


@pytest.mark.parametrize("name, rest", OPTIMIZER_CASES,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(OPTIMIZER_CASES)])
def test_optimizer_step_matches_the_twin(name, rest):
    params = [f(5, 3), f(7), f(1)]
    grads = [f(*p.shape) for p in params]
    arguments = rest(params)
    host = [params, grads, *arguments]
    device = on_device(host)
    getattr(twin, name)(*[[a.copy() for a in v] if isinstance(v, list) else v for v in host])
    expected = [[a.copy() for a in v] if isinstance(v, list) else v for v in host]
    getattr(twin, name)(*expected)
    getattr(cuda, name)(*device)
    for got, want in zip(device, expected):
        if isinstance(want, list):
            for got_array, want_array in zip(got, want):
                np.testing.assert_allclose(got_array.get(), want_array, rtol=1e-5, atol=1e-7)


def test_optimizer_refuses_a_non_contiguous_parameter_before_writing():
    params = on_device([f(4, 3), f(3, 4)])
    before = on_host(params)
    params[1] = params[1].T
    with pytest.raises(ValueError, match="sgd_step_: params\\[1\\] must be a float32 C-contig"):
        cuda.sgd_step_(params, on_device([f(4, 3), f(4, 3)]), [], 0.1, 0, 0, 0, False, False)
    np.testing.assert_array_equal(params[0].get(), before[0])


def test_bad_label_raises_value_error_as_the_twin():
    logits, target = f(4, 3), np.array([0, 3, 1, -100], np.int64)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 3"):
        twin.cross_entropy_forward(logits, target, "mean")
    with pytest.raises(ValueError, match=r"cross_entropy: labels must be in \[0, 3\), got 3"):
        cuda.cross_entropy_forward(*on_device((logits, target)), "mean")
    with pytest.raises(ValueError, match=r"nll_loss: labels must be in \[0, 3\), got -1"):
        cuda.nll_loss_forward(*on_device((logits, np.array([0, -1, 1, 2]))), "sum")


def test_bad_embedding_index_raises_index_error():
    weight, indices = on_device((f(5, 2), np.array([[0, 5]], np.int64)))
    with pytest.raises(IndexError, match=r"embedding_forward: indices must be in \[0, 5\)"):
        cuda.embedding_forward(weight, indices)
    with pytest.raises(IndexError, match=r"embedding_backward: indices must be in \[0, 5\)"):
        cuda.embedding_backward(on_device(f(1, 2, 2)), indices, 5)


def test_max_pool_backward_with_the_forward_indices_uses_the_window_kernel(simulated_runtime):
    x = f(2, 3, 7, 6)
    values, indices = cuda.max_pool2d_forward(on_device(x), (3, 3), (1, 1), (1, 1))
    assert indices.window == ((3, 3), (1, 1), (1, 1))
    grad = f(*values.shape)
    expected = twin.max_pool2d_backward(grad, twin.max_pool2d_forward(x, (3, 3), (1, 1),
                                                                      (1, 1))[1], x.shape)
    calls = []
    original = simulated_runtime.max_pool2d_backward
    simulated_runtime.max_pool2d_backward = lambda *a: (calls.append(a), original(*a))
    assert_same(cuda.max_pool2d_backward(on_device(grad), indices, x.shape), expected)
    assert calls and calls[0][-6:] == (3, 3, 1, 1, 1, 1)


def test_kernels_refuse_float64_and_host_arrays():
    with pytest.raises(TypeError, match="relu: x must be float32, got int64"):
        cuda.relu_forward(on_device(np.arange(3)))
    with pytest.raises(RuntimeError, match="on the cpu"):
        cuda.linear_forward(on_device(f(2, 3)), f(4, 3), None)
    with pytest.raises(RuntimeError, match="on the cpu"):
        cuda.cross_entropy_forward(on_device(f(2, 3)), np.array([0, 1]), "mean")


def test_normalize_images_takes_host_images_and_returns_a_device_batch():
    images = rng.integers(0, 256, (5, 2, 3)).astype(np.uint8)
    indices = np.array([4, 0, 2], np.int64)
    assert_same(cuda.normalize_images(images, indices, 0.5, 0.25),
                twin.normalize_images(images, indices, 0.5, 0.25))
    with pytest.raises(TypeError, match="host arrays"):
        cuda.normalize_images(on_device(images), indices, 0.5, 0.25)


def test_thread_count_is_the_host_backends():
    saved = cuda.get_num_threads()
    try:
        cuda.set_num_threads(1)
        assert cuda.get_num_threads() == 1
    finally:
        cuda.set_num_threads(saved)


def test_device_dropout_mask_keeps_one_minus_p(simulated_runtime):
    mask = cuda.dropout_mask((200, 50), 0.3, 1234, 0)
    assert mask.dtype == np.bool_ and mask.shape == (200, 50)
    kept = mask.get().mean()
    assert abs(kept - 0.7) < 0.02  # 10000 draws: sd 0.0046
    again = cuda.dropout_mask((200, 50), 0.3, 1234, 0).get()
    np.testing.assert_array_equal(again, mask.get())
    assert (cuda.dropout_mask((200, 50), 0.3, 1235, 0).get() != again).any()
