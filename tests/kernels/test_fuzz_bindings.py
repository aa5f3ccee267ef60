"""A seeded fuzz of every binding in cunn._C against the NumPy reference.

Hypothesis draws shapes (empty, 1, odd sizes), geometry (including huge padding, strides
and kernels), reductions, dims and whether every input array is misaligned; the values
come from a NumPy generator seeded by the draw. The compiled call must give the
reference's result (rtol 1e-4, atol 1e-5: float32 sums of a few terms; pooling and
selections exactly) or refuse the arguments with one of the documented errors
(ValueError, TypeError, IndexError); anything else, a crash included, fails. The runs
are derandomized and small (FUZZ_EXAMPLES per family), so the test is reproducible and
takes seconds; its main job is under the sanitizer build (tools/sanitize.sh), where any
out-of-bounds or misaligned access stops the run.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cunn._backends import get
from kernels.test_misaligned import misaligned

cpu = get("cpu")
ref = get("numpy")

FUZZ_EXAMPLES = 60
fuzz = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
DOCUMENTED = (ValueError, TypeError, IndexError)

sizes = st.sampled_from([0, 1, 1, 2, 3, 5, 7, 8, 9, 16, 17, 33])
small = st.integers(0, 4)
seeds = st.integers(0, 2 ** 32 - 1)
reductions = st.sampled_from(["mean", "sum", "none"])


def shapes(min_dims=0, max_dims=3):
    return st.lists(sizes, min_size=min_dims, max_size=max_dims).map(tuple)


def values(rng, shape, low=-3.0, high=3.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def flatten(result):
    if isinstance(result, (tuple, list)):
        return [part for item in result for part in flatten(item)]
    return [] if result is None else [np.asarray(result)]


def shift(argument, misalign):
    if isinstance(argument, np.ndarray) and misalign and argument.size:
        return misaligned(argument)
    if isinstance(argument, list):
        return [shift(item, misalign) for item in argument]
    return argument


def check(call, arguments, misalign, exact=False):
    """call(backend, *arguments) on the reference and on the compiled backend with every
    array (misaligned if asked): where both return, the results must agree (as the module
    docstring says); a refusal must be a documented error. Which arguments each side
    refuses is the op layer's business (it validates before either is called), so one
    side refusing what the other accepts is not a failure here."""
    try:
        want = flatten(call(ref, *arguments))
    except DOCUMENTED:
        want = None
    try:
        got = flatten(call(cpu, *shift(list(arguments), misalign)))
    except DOCUMENTED:
        return
    if want is None:
        return
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w.astype(g.dtype), rtol=1e-4, atol=1e-5)


@fuzz
@given(shape=shapes(), seed=seeds, misalign=st.booleans(),
       op=st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh"]), backward=st.booleans())
def test_activations(shape, seed, misalign, op, backward):
    rng = np.random.default_rng(seed)
    x, grad = values(rng, shape), values(rng, shape)
    extra = (0.1,) if op == "leaky_relu" else ()
    if backward:
        saved = x if op in ("relu", "leaky_relu") else ref.__dict__[op + "_forward"](x)
        check(lambda b, g, s: getattr(b, op + "_backward")(g, s, *extra), (grad, saved),
              misalign)
    else:
        check(lambda b, x: getattr(b, op + "_forward")(x, *extra), (x,), misalign)


@fuzz
@given(shape=shapes(1, 3), dim=st.integers(-4, 3), seed=seeds, misalign=st.booleans(),
       op=st.sampled_from(["softmax", "log_softmax"]), backward=st.booleans())
def test_softmax(shape, dim, seed, misalign, op, backward):
    rng = np.random.default_rng(seed)
    x, grad = values(rng, shape), values(rng, shape)
    if backward:
        output = getattr(ref, op + "_forward")(x, dim) if -len(shape) <= dim < len(shape) else x
        check(lambda b, g, o: getattr(b, op + "_backward")(g, o, dim), (grad, output), misalign)
    else:
        check(lambda b, x: getattr(b, op + "_forward")(x, dim), (x,), misalign)


@fuzz
@given(a_shape=shapes(), b_shape=shapes(), seed=seeds, misalign=st.booleans(),
       op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_elementwise(a_shape, b_shape, seed, misalign, op):
    rng = np.random.default_rng(seed)
    a = values(rng, a_shape)
    b = values(rng, b_shape, 0.5, 3.0)  # no division by zero
    check(lambda backend, a, b: getattr(backend, op)(a, b), (a, b), misalign)


@fuzz
@given(shape=shapes(0, 4), dims=st.lists(st.integers(-5, 4), max_size=3), dim=st.integers(-5, 4),
       keepdim=st.booleans(), seed=seeds, misalign=st.booleans())
def test_reductions(shape, dims, dim, keepdim, seed, misalign):
    rng = np.random.default_rng(seed)
    x = values(rng, shape)
    check(lambda b, x: b.sum(x, tuple(dims) or None, keepdim), (x,), misalign)
    check(lambda b, x: b.max(x, dim, keepdim), (x,), misalign, exact=True)


@fuzz
@given(shape=shapes(), scale=st.floats(0.0, 4.0), seed=seeds, misalign=st.booleans(),
       backward=st.booleans())
def test_dropout(shape, scale, seed, misalign, backward):
    rng = np.random.default_rng(seed)
    x, mask = values(rng, shape), rng.random(shape) < 0.5
    name = "dropout_backward" if backward else "dropout_forward"
    check(lambda b, x, m: getattr(b, name)(x, m, scale), (x, mask), misalign)


@fuzz
@given(m=sizes, n=sizes, k=sizes, trans_a=st.booleans(), trans_b=st.booleans(),
       beta=st.sampled_from([0.0, 1.0, -0.5]), with_out=st.booleans(), seed=seeds,
       misalign=st.booleans())
def test_gemm(m, n, k, trans_a, trans_b, beta, with_out, seed, misalign):
    rng = np.random.default_rng(seed)
    a = values(rng, (k, m) if trans_a else (m, k))
    b = values(rng, (n, k) if trans_b else (k, n))
    start = values(rng, (m, n))

    def call(backend, a, b):
        out = start.copy() if with_out else None
        return backend.gemm(a, b, trans_a, trans_b, 0.5, beta, out)

    check(call, (a, b), misalign)


@fuzz
@given(batch=sizes, in_features=sizes, out_features=sizes, with_bias=st.booleans(),
       needs=st.tuples(st.booleans(), st.booleans(), st.booleans()), seed=seeds,
       misalign=st.booleans())
def test_linear(batch, in_features, out_features, with_bias, needs, seed, misalign):
    rng = np.random.default_rng(seed)
    x = values(rng, (batch, in_features))
    weight = values(rng, (out_features, in_features))
    bias = values(rng, (out_features,)) if with_bias else None
    grad = values(rng, (batch, out_features))
    check(lambda b, x, w, bias: b.linear_forward(x, w, bias), (x, weight, bias), misalign)
    check(lambda b, g, x, w: b.linear_backward(g, x, w, *needs), (grad, x, weight), misalign)
    check(lambda b, g: b.bias_grad(g, 1), (grad,), misalign)


@fuzz
@given(widths=st.lists(st.integers(1, 9), min_size=2, max_size=4), batch=sizes,
       relus=st.lists(st.booleans(), min_size=3, max_size=3), seed=seeds, misalign=st.booleans())
def test_linear_chain(widths, batch, relus, seed, misalign):
    rng = np.random.default_rng(seed)
    layers = len(widths) - 1
    x = values(rng, (batch, widths[0]))
    weights = [values(rng, (widths[i + 1], widths[i])) for i in range(layers)]
    biases = [values(rng, (widths[i + 1],)) if i % 2 == 0 else None for i in range(layers)]
    relus = relus[:layers]
    check(lambda b, x, w, bs: b.linear_chain_forward(x, w, bs, relus), (x, weights, biases),
          misalign)
    outputs = flatten(ref.linear_chain_forward(x, weights, biases, relus))[:layers]
    grad = values(rng, (batch, widths[-1]))
    needs = [True] * layers
    check(lambda b, g, x, o, w: b.linear_chain_backward(g, x, o, w, relus, True, needs, needs),
          (grad, x, outputs, weights), misalign)


# Geometry of one axis, (kernel, stride, padding): mostly small, sometimes hostile. Conv
# kernels stay at most 20 (the weights are allocated here) but reach far beyond the input
# and its padding; padding and strides go up to 2^20 together, so outputs stay small.
# Pooling has no weights: its kernels go up to 2^20 as well.
small_axis = st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(0, 4))
huge_stride = st.tuples(st.integers(1, 9), st.integers(10, 20)).map(
    lambda pair: (pair[0], 2 ** pair[1], 2 ** (pair[1] - 1)))
conv_axis = st.one_of(small_axis, huge_stride,
                      st.tuples(st.integers(1, 20), st.integers(1, 9), st.integers(0, 20)))
pool_axis = st.one_of(small_axis, huge_stride,
                      st.integers(10, 20).map(lambda e: (2 ** e, 2 ** e, 2 ** (e - 1))),
                      st.integers(10, 20).map(lambda e: (2 ** e, 1, 2 ** (e - 1))))


@fuzz
@given(batch=small, channels=small, out_channels=small, height=st.integers(0, 7),
       width=st.integers(0, 7), rows=conv_axis, cols=conv_axis, with_bias=st.booleans(),
       seed=seeds,
       misalign=st.booleans())
def test_conv2d(batch, channels, out_channels, height, width, rows, cols, with_bias, seed,
                misalign):
    rng = np.random.default_rng(seed)
    (kernel_h, stride_h, pad_h), (kernel_w, stride_w, pad_w) = rows, cols
    stride, padding = (stride_h, stride_w), (pad_h, pad_w)
    x = values(rng, (batch, channels, height, width))
    weight = values(rng, (out_channels, channels, kernel_h, kernel_w))
    bias = values(rng, (out_channels,)) if with_bias else None
    check(lambda b, x, w, bias: b.conv2d_forward(x, w, bias, stride, padding),
          (x, weight, bias), misalign)
    try:
        out = ref.conv2d_forward(x, weight, bias, stride, padding)
    except ValueError:
        return
    grad = values(rng, out.shape)
    check(lambda b, g, w: b.conv2d_backward_input(g, w, x.shape, stride, padding),
          (grad, weight), misalign)
    check(lambda b, g, x: b.conv2d_backward_weight(g, x, weight.shape, stride, padding),
          (grad, x), misalign)


@fuzz
@given(batch=small, channels=small, height=st.integers(1, 7), width=st.integers(1, 7),
       rows=pool_axis, cols=pool_axis, seed=seeds, misalign=st.booleans())
def test_max_pool2d(batch, channels, height, width, rows, cols, seed, misalign):
    rng = np.random.default_rng(seed)
    (kernel_h, stride_h, pad_h), (kernel_w, stride_w, pad_w) = rows, cols
    geometry = ((kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w))
    x = values(rng, (batch, channels, height, width))
    x[x > 2.5] = -np.inf  # windows of -inf alone report their first position inside
    check(lambda b, x: b.max_pool2d_forward(x, *geometry), (x,), misalign, exact=True)
    try:
        out, indices = ref.max_pool2d_forward(x, *geometry)
    except ValueError:
        return
    grad = values(rng, out.shape)
    check(lambda b, g, i: b.max_pool2d_backward(g, i, x.shape), (grad, indices), misalign,
          exact=True)


@fuzz
@given(batch=sizes, classes=st.integers(1, 12), reduction=reductions, seed=seeds,
       misalign=st.booleans(), bad_label=st.booleans())
def test_class_losses(batch, classes, reduction, seed, misalign, bad_label):
    rng = np.random.default_rng(seed)
    logits = values(rng, (batch, classes))
    labels = rng.integers(0, classes, batch).astype(np.int64)
    if bad_label and batch:
        labels[-1] = classes  # refused by both
    log_probs = ref.log_softmax_forward(logits, 1)
    grad = values(rng, (batch,) if reduction == "none" else ())
    check(lambda b, s, t: b.cross_entropy_forward(s, t, reduction), (logits, labels), misalign)
    check(lambda b, g, s, t: b.cross_entropy_backward(g, s, t, reduction),
          (grad, log_probs, labels), misalign)
    check(lambda b, s, t: b.nll_loss_forward(s, t, reduction), (log_probs, labels), misalign)
    check(lambda b, g, t: b.nll_loss_backward(g, t, classes, reduction), (grad, labels),
          misalign)


@fuzz
@given(shape=shapes(), reduction=reductions, seed=seeds, misalign=st.booleans(),
       loss=st.sampled_from(["mse_loss", "l1_loss", "binary_cross_entropy",
                             "binary_cross_entropy_with_logits"]))
def test_pointwise_losses(shape, reduction, seed, misalign, loss):
    rng = np.random.default_rng(seed)
    low = 0.02 if loss == "binary_cross_entropy" else -3.0
    high = 0.98 if loss == "binary_cross_entropy" else 3.0
    prediction = values(rng, shape, low, high)
    target = values(rng, shape, 0.0, 1.0)
    grad = values(rng, shape if reduction == "none" else ())
    check(lambda b, p, t: getattr(b, loss + "_forward")(p, t, reduction), (prediction, target),
          misalign)
    check(lambda b, g, p, t: getattr(b, loss + "_backward")(g, p, t, reduction),
          (grad, prediction, target), misalign)


@fuzz
@given(param_shapes=st.lists(shapes(0, 2), max_size=3), step=st.integers(1, 5),
       momentum=st.sampled_from([0.0, 0.9]), seed=seeds, misalign=st.booleans(),
       optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]))
def test_optimizers(param_shapes, step, momentum, seed, misalign, optimizer):
    rng = np.random.default_rng(seed)
    params = [values(rng, shape) for shape in param_shapes]
    grads = [values(rng, shape) for shape in param_shapes]
    # Square averages above the squared mean gradients, as they are in a real run.
    states = [[values(rng, shape, low, high) for shape in param_shapes]
              for low, high in ((0.5, 1.0), (0.0, 1.0), (-0.1, 0.1))]

    def call(backend, grads):
        p = [a.copy() for a in params]
        s = [[a.copy() for a in state] for state in states]
        if optimizer == "sgd":
            backend.sgd_step_(p, grads, s[0] if momentum else [], 0.1, momentum, 0.0, 0.01,
                              False, step == 1)
        elif optimizer == "adam":
            backend.adam_step_(p, grads, s[0], s[1], 1e-2, 0.9, 0.999, 1e-8, 0.01, step, True)
        else:
            backend.rmsprop_step_(p, grads, s[0], s[1] if momentum else [], s[2], 1e-2, 0.99,
                                  1e-8, 0.0, momentum, True)
        return p + [a for state in s for a in state]

    check(call, (grads,), misalign)


@fuzz
@given(count=st.integers(0, 6), picks=st.lists(st.integers(-1, 6), max_size=5),
       shape=shapes(0, 2), mean=st.floats(-1, 1), std=st.floats(0.1, 2), seed=seeds,
       misalign=st.booleans())
def test_normalize_images(count, picks, shape, mean, std, seed, misalign):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count,) + shape).astype(np.uint8)
    indices = np.array(picks, np.int64)
    check(lambda b, images, indices: b.normalize_images(images, indices, mean, std),
          (images, indices), misalign)
