"""Optimizer kernels: compiled vs NumPy reference, reference vs the plain formulas.

Tolerance: the compiled loops and the reference round the same float32
operations in the same order with multiply-adds left unfused, so they agree bit
for bit (asserted on x86-64 below); elsewhere we allow 4 ulp of the larger
magnitude, for a compiler that fuses despite the pragma.
"""
import itertools
import platform

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cunn import _C
from cunn._backends import cpu, numpy_ref

SIZES = [1, 7, 15, 16, 17, 33, 1000003]
SMALL_SIZES = [1, 7, 15, 16, 17, 33, 300]


def assert_ulp_close(actual, expected, ulps=4):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    scale = np.maximum(np.abs(actual), np.abs(expected))
    limit = ulps * np.spacing(scale.astype(actual.dtype)) + np.finfo(actual.dtype).tiny
    bad = ~(np.abs(actual - expected) <= limit)
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} differ; first at {np.argwhere(bad)[0]}: "
        f"{actual[bad][0]!r} vs {expected[bad][0]!r}")


def random_list(rng, sizes, low=-1.0, high=1.0, dtype=np.float32):
    return [rng.uniform(low, high, size).astype(dtype) for size in sizes]


def shaped(arrays):
    """Gives some of the arrays 2-D shapes, as parameters usually are."""
    return [a.reshape(a.size // 3, 3) if a.size % 3 == 0 and a.size > 3 else a for a in arrays]


def copies(arrays):
    return [a.copy() for a in arrays]


def run_both(step, state_names, sizes, steps, seed, state_low=0.0, **options):
    """Runs `steps` updates on both backends from identical starts; returns both results."""
    rng = np.random.default_rng(seed)
    params = shaped(random_list(rng, sizes))
    states = {name: shaped(random_list(rng, sizes, state_low, 1.0)) for name in state_names}
    grads_per_step = [shaped(random_list(rng, sizes, -2.0, 2.0)) for _ in range(steps)]
    results = []
    for backend in (cpu, numpy_ref):
        p = copies(params)
        s = {name: copies(values) for name, values in states.items()}
        for index, grads in enumerate(grads_per_step):
            step(backend, p, grads, s, index + 1)
        results.append((p, s))
    return results


def assert_same(results):
    (params_c, states_c), (params_r, states_r) = results
    for a, b in zip(params_c, params_r):
        assert_ulp_close(a, b)
    for name in states_c:
        for a, b in zip(states_c[name], states_r[name]):
            assert_ulp_close(a, b)


SGD_OPTIONS = [dict(momentum=m, dampening=d, weight_decay=w, nesterov=n)
               for m, d, w, n in itertools.product((0.0, 0.9), (0.0, 0.3), (0.0, 0.01),
                                                   (False, True))
               if not (n and (m == 0 or d != 0))]


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_matches_reference(setting, options):
    def step(backend, params, grads, states, number):
        buffers = states["buffers"] if options["momentum"] else []
        backend.sgd_step_(params, grads, buffers, 0.05, options["momentum"],
                          options["dampening"], options["weight_decay"], options["nesterov"],
                          number == 1)

    assert_same(run_both(step, ["buffers"], SMALL_SIZES, 3, 1, **options))


ADAM_OPTIONS = [dict(weight_decay=w, decoupled=dec, betas=b)
                for w, dec, b in itertools.product((0.0, 0.05), (False, True),
                                                   ((0.9, 0.999), (0.3, 0.5)))]


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_matches_reference(setting, options):
    beta1, beta2 = options["betas"]

    def step(backend, params, grads, states, number):
        backend.adam_step_(params, grads, states["exp_avgs"], states["exp_avg_sqs"], 1e-2,
                           beta1, beta2, 1e-8, options["weight_decay"], number,
                           options["decoupled"])

    assert_same(run_both(step, ["exp_avgs", "exp_avg_sqs"], SMALL_SIZES, 3, 2))


RMSPROP_OPTIONS = [dict(weight_decay=w, momentum=m, centered=c, alpha=a)
                   for w, m, c, a in itertools.product((0.0, 0.05), (0.0, 0.9), (False, True),
                                                       (0.99, 0.3))]


@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=str)
def test_rmsprop_matches_reference(setting, options):
    rng = np.random.default_rng(3)
    params = shaped(random_list(rng, SMALL_SIZES))
    # square_avg >= grad_avg^2 at the start keeps it so (by convexity), so no sqrt of < 0.
    square_avgs = shaped(random_list(rng, SMALL_SIZES, 0.25, 1.0))
    grad_avgs = shaped(random_list(rng, SMALL_SIZES, -0.5, 0.5))
    buffers = shaped(random_list(rng, SMALL_SIZES))
    grads_per_step = [shaped(random_list(rng, SMALL_SIZES, -2.0, 2.0)) for _ in range(3)]
    outputs = []
    for backend in (cpu, numpy_ref):
        p, s = copies(params), copies(square_avgs)
        b = copies(buffers) if options["momentum"] else []
        g = copies(grad_avgs) if options["centered"] else []
        for grads in grads_per_step:
            backend.rmsprop_step_(p, grads, s, b, g, 1e-2, options["alpha"], 1e-8,
                                  options["weight_decay"], options["momentum"],
                                  options["centered"])
        outputs.append(p + s + b + g)
    for a, b in zip(*outputs):
        assert not np.isnan(a).any()
        assert_ulp_close(a, b)


def test_large_and_many_tensors(setting):
    """One list mixing a million-element tensor with tiny ones, split across threads."""
    def step(backend, params, grads, states, number):
        backend.adam_step_(params, grads, states["exp_avgs"], states["exp_avg_sqs"], 1e-3, 0.9,
                           0.999, 1e-8, 0.01, number, True)

    assert_same(run_both(step, ["exp_avgs", "exp_avg_sqs"], SIZES, 2, 5))

    def sgd(backend, params, grads, states, number):
        backend.sgd_step_(params, grads, states["buffers"], 0.1, 0.9, 0.1, 1e-4, False,
                          number == 1)

    assert_same(run_both(sgd, ["buffers"], SIZES + [0, 5], 2, 6))


@pytest.mark.parametrize("sizes", [[100003, 4095, 4096, 10, 1], [4095, 4095, 4095, 70001],
                                   [4095, 3000, 12]],
                         ids=["small and large", "small over the one-thread budget", "all small"])
def test_small_tensors_and_large_ones_together(setting, sizes):
    """Tensors below 4096 elements, up to 8192 in all, go to the calling thread; more are
    threaded with the large ones. Either way every element must match the reference (one
    left out would keep its old value)."""
    def step(backend, params, grads, states, number):
        backend.adam_step_(params, grads, states["exp_avgs"], states["exp_avg_sqs"], 1e-3, 0.9,
                           0.999, 1e-8, 0.0, number, False)

    assert_same(run_both(step, ["exp_avgs", "exp_avg_sqs"], sizes, 2, 7))


def test_empty_lists_are_a_no_op():
    # Accepted, returning nothing; the same calls with one gradient too many are refused,
    # so the empty lists are checked like any others, not skipped.
    extra = [np.ones(3, np.float32)]
    for backend in (cpu, numpy_ref):
        calls = {
            "sgd": lambda grads: backend.sgd_step_([], grads, [], 0.1, 0.9, 0.0, 0.0, False,
                                                   True),
            "adam": lambda grads: backend.adam_step_([], grads, [], [], 0.1, 0.9, 0.999, 1e-8,
                                                     0.0, 1, False),
            "rmsprop": lambda grads: backend.rmsprop_step_([], grads, [], [], [], 0.1, 0.99,
                                                           1e-8, 0.0, 0.0, False),
        }
        for name, call in calls.items():
            assert call([]) is None, name
            with pytest.raises(ValueError):
                call(extra)


def test_non_contiguous_grad_is_accepted():
    rng = np.random.default_rng(7)
    grad = rng.standard_normal((6, 4)).astype(np.float32).T
    results = []
    for backend in (cpu, numpy_ref):
        param = np.ones((4, 6), np.float32)
        backend.sgd_step_([param], [grad], [], 0.5, 0.0, 0.0, 0.0, False, True)
        results.append(param)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], np.float32(1) + np.float32(-0.5) * grad)


# ---- the reference against PyTorch's algorithm written out plainly, in float64 ----

def test_reference_sgd_follows_pytorch_formulas():
    rng = np.random.default_rng(8)
    param = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(4)]
    lr, momentum, dampening, weight_decay = 0.1, 0.9, 0.25, 0.01
    for nesterov in (False, True):
        if nesterov:
            dampening = 0.0
        p, buffer = param.copy(), np.empty(50)
        expected, expected_buffer = param.copy(), None
        for number, grad in enumerate(grads):
            numpy_ref.sgd_step_([p], [grad], [buffer], lr, momentum, dampening, weight_decay,
                                nesterov, number == 0)
            d = grad + weight_decay * expected
            if expected_buffer is None:
                expected_buffer = d.copy()
            else:
                expected_buffer = momentum * expected_buffer + (1 - dampening) * d
            d = d + momentum * expected_buffer if nesterov else expected_buffer
            expected = expected - lr * d
        np.testing.assert_allclose(p, expected, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(buffer, expected_buffer, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("decoupled", [False, True])
def test_reference_adam_follows_pytorch_formulas(decoupled):
    rng = np.random.default_rng(9)
    param = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(5)]
    lr, beta1, beta2, eps, weight_decay = 1e-2, 0.9, 0.999, 1e-8, 0.1
    p, m, v = param.copy(), np.zeros(50), np.zeros(50)
    expected, em, ev = param.copy(), np.zeros(50), np.zeros(50)
    for step, grad in enumerate(grads, start=1):
        numpy_ref.adam_step_([p], [grad], [m], [v], lr, beta1, beta2, eps, weight_decay, step,
                             decoupled)
        if decoupled:
            expected = expected * (1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * expected
        em = beta1 * em + (1 - beta1) * grad
        ev = beta2 * ev + (1 - beta2) * grad * grad
        m_hat = em / (1 - beta1 ** step)
        v_hat = ev / (1 - beta2 ** step)
        # The textbook form; PyTorch's sqrt(v) / sqrt(bc2) + eps is the same number.
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m, em, rtol=1e-12)
    np.testing.assert_allclose(v, ev, rtol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_reference_rmsprop_follows_pytorch_formulas(centered, momentum):
    rng = np.random.default_rng(10)
    param = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(4)]
    lr, alpha, eps, weight_decay = 1e-2, 0.9, 1e-8, 0.05
    p, sq = param.copy(), np.zeros(50)
    buffers = [np.zeros(50)] if momentum else []
    grad_avgs = [np.zeros(50)] if centered else []
    expected, esq, ebuf, egavg = param.copy(), np.zeros(50), np.zeros(50), np.zeros(50)
    for grad in grads:
        numpy_ref.rmsprop_step_([p], [grad], [sq], buffers, grad_avgs, lr, alpha, eps,
                                weight_decay, momentum, centered)
        grad = grad + weight_decay * expected
        esq = alpha * esq + (1 - alpha) * grad ** 2
        if centered:
            egavg = alpha * egavg + (1 - alpha) * grad
            avg = np.sqrt(esq - egavg ** 2) + eps
        else:
            avg = np.sqrt(esq) + eps
        if momentum:
            ebuf = momentum * ebuf + grad / avg
            expected = expected - lr * ebuf
        else:
            expected = expected - lr * grad / avg
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sq, esq, rtol=1e-12)


def test_reference_computes_float64_for_float64_input():
    param = np.full(3, 1.0)
    numpy_ref.sgd_step_([param], [np.full(3, 1e-10)], [], 1.0, 0.0, 0.0, 0.0, False, True)
    assert param.dtype == np.float64
    assert param[0] == 1.0 - 1e-10  # not representable in float32


# ---- against torch, when it happens to be installed ----

def test_matches_torch_when_available():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    sizes = [7, 16, 33]
    cases = [
        ("sgd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
        ("sgd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("adam", torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1)),
        ("adamw", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
        ("rmsprop", torch.optim.RMSprop, dict(lr=1e-2, momentum=0.5, centered=True,
                                               weight_decay=0.01)),
        ("rmsprop", torch.optim.RMSprop, dict(lr=1e-2)),
    ]
    for kind, cls, options in cases:
        params = random_list(rng, sizes)
        grads_per_step = [random_list(rng, sizes) for _ in range(4)]
        torch_params = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
        optimizer = cls(torch_params, foreach=False, **options)
        ours = copies(params)
        states = [[np.zeros_like(p) for p in params] for _ in range(3)]
        for step, grads in enumerate(grads_per_step, start=1):
            for tp, grad in zip(torch_params, grads):
                tp.grad = torch.from_numpy(grad.copy())
            optimizer.step()
            if kind == "sgd":
                cpu.sgd_step_(ours, grads, states[0], options["lr"], options["momentum"],
                              options.get("dampening", 0.0), options["weight_decay"],
                              options.get("nesterov", False), step == 1)
            elif kind in ("adam", "adamw"):
                cpu.adam_step_(ours, grads, states[0], states[1], options["lr"], 0.9, 0.999,
                               1e-8, options["weight_decay"], step, kind == "adamw")
            else:
                momentum = options.get("momentum", 0.0)
                centered = options.get("centered", False)
                cpu.rmsprop_step_(ours, grads, states[0], states[1] if momentum else [],
                                  states[2] if centered else [], options["lr"], 0.99, 1e-8,
                                  options.get("weight_decay", 0.0), momentum, centered)
        for ours_p, tp in zip(ours, torch_params):
            # PyTorch fuses some multiply-adds (one rounding fewer), so the two differ by
            # about an ulp of the parameters' scale (~1); measured at most 1 ulp of 1.0.
            difference = np.abs(ours_p - tp.detach().numpy()).max()
            assert difference <= 4 * np.spacing(np.float32(1)), (kind, options, difference)


# ---- errors ----

def adam_args(params, grads=None, exp_avgs=None, exp_avg_sqs=None):
    grads = [np.zeros_like(p) for p in params] if grads is None else grads
    exp_avgs = [np.zeros_like(p) for p in params] if exp_avgs is None else exp_avgs
    exp_avg_sqs = [np.zeros_like(p) for p in params] if exp_avg_sqs is None else exp_avg_sqs
    return (params, grads, exp_avgs, exp_avg_sqs, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1, False)


@pytest.mark.parametrize("backend", [cpu, numpy_ref], ids=["cpu", "numpy"])
def test_errors(backend):
    params = [np.zeros(4, np.float32) for _ in range(5)]
    exp_avgs = [np.zeros(4, np.float32) for _ in range(5)]
    exp_avgs[3] = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"adam_step_: exp_avgs\[3\] must have shape \(4,\), "
                                         r"got \(10,\)"):
        backend.adam_step_(*adam_args(params, exp_avgs=exp_avgs))
    with pytest.raises(TypeError, match=r"adam_step_: params\[1\] must be float32"):
        backend.adam_step_(*adam_args([params[0], np.zeros(4, np.int64)]))
    with pytest.raises(TypeError, match=r"adam_step_: grads\[0\] must be float32"):
        backend.adam_step_(*adam_args(params[:1], grads=[np.zeros(4, np.float64)]))
    strided = np.zeros(8, np.float32)[::2]
    with pytest.raises(ValueError, match=r"adam_step_: params\[0\] must be C-contiguous"):
        backend.adam_step_(*adam_args([strided]))
    readonly = np.zeros(4, np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match=r"adam_step_: exp_avg_sqs\[0\] must be writable"):
        backend.adam_step_(*adam_args(params[:1], exp_avg_sqs=[readonly]))
    with pytest.raises(ValueError, match=r"adam_step_: params\[0\] must be writable"):
        backend.adam_step_(*adam_args([readonly]))
    with pytest.raises(ValueError, match=r"adam_step_: grads must have one array per parameter "
                                         r"\(2\), got 1"):
        backend.adam_step_(*adam_args(params[:2], grads=params[:1]))
    with pytest.raises(ValueError, match=r"adam_step_: step must be >= 1, got 0"):
        args = list(adam_args(params[:1]))
        args[9] = 0
        backend.adam_step_(*args)
    with pytest.raises(TypeError, match=r"sgd_step_: grads\[0\] must be a numpy array"):
        backend.sgd_step_(params[:1], [[0.0] * 4], [], 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(TypeError, match=r"sgd_step_: params must be a list of arrays"):
        backend.sgd_step_(params[0], params[:1], [], 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match=r"sgd_step_: momentum_buffers must have one array"):
        backend.sgd_step_(params[:2], params[:2], params[:1], 0.1, 0.9, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match=r"sgd_step_: momentum_buffers must be empty"):
        backend.sgd_step_(params[:1], params[:1], params[:1], 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match=r"rmsprop_step_: grad_avgs must have one array"):
        backend.rmsprop_step_(params[:1], params[:1], params[:1], [], [], 0.1, 0.99, 1e-8, 0.0,
                              0.0, True)
    with pytest.raises(ValueError, match=r"rmsprop_step_: square_avgs\[0\] must have shape"):
        backend.rmsprop_step_(params[:1], params[:1], [np.zeros((2, 2), np.float32)], [], [],
                              0.1, 0.99, 1e-8, 0.0, 0.0, False)


def test_compiled_refuses_float64_and_leaves_params_untouched():
    params = [np.ones(3, np.float32), np.ones(3, np.float64)]
    grads = [np.ones(3, np.float32), np.ones(3, np.float64)]
    with pytest.raises(TypeError, match=r"sgd_step_: params\[1\] must be float32, got float64"):
        cpu.sgd_step_(params, grads, [], 0.1, 0.0, 0.0, 0.0, False, True)
    np.testing.assert_array_equal(params[0], 1.0)  # validated before anything is written


def test_binding_refuses_non_contiguous_grad_directly():
    with pytest.raises(ValueError, match=r"sgd_step_: grads\[0\] must be C-contiguous"):
        _C.sgd_step_([np.zeros(4, np.float32)], [np.zeros(8, np.float32)[::2]], [], 0.1, 0.0,
                     0.0, 0.0, False, True)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="exactness checked where the build is known not to fuse")
def test_compiled_equals_reference_bit_for_bit():
    rng = np.random.default_rng(13)
    sizes = [3, 17, 4099]
    params, grads = random_list(rng, sizes), random_list(rng, sizes)
    outputs = []
    for backend in (cpu, numpy_ref):
        p = copies(params)
        m, v, square, mean, rms_buffer, sgd_buffer = (
            [np.zeros_like(a) for a in params] for _ in range(6))
        for step in (1, 2, 3):
            backend.adam_step_(p, grads, m, v, 1e-2, 0.9, 0.999, 1e-8, 0.05, step, step == 2)
            backend.rmsprop_step_(p, grads, square, rms_buffer, mean, 1e-2, 0.99, 1e-8, 0.01,
                                  0.9, True)
            backend.sgd_step_(p, grads, sgd_buffer, 0.1, 0.9, 0.1, 0.01, False, step == 1)
        outputs.append(p + m + v + square + mean + rms_buffer + sgd_buffer)
    for a, b in zip(*outputs):
        assert not np.isnan(a).any()
        np.testing.assert_array_equal(a, b)


def test_isa_paths_are_bit_identical():
    """The AVX-512, AVX2 and portable builds of the loops round the same operations."""
    sizes = [1, 7, 8, 9, 17, 33, 100003]
    results = []
    for isa in ("generic", "avx2", "avx512"):
        _C.set_isa_cap(isa)
        try:
            rng = np.random.default_rng(12)
            params = random_list(rng, sizes)
            grads = random_list(rng, sizes)
            square_avgs, buffers, grad_avgs = ([np.zeros_like(p) for p in params]
                                               for _ in range(3))
            exp_avgs, exp_avg_sqs = [np.zeros_like(p) for p in params], [
                np.zeros_like(p) for p in params]
            for step in (1, 2):
                cpu.adam_step_(params, grads, exp_avgs, exp_avg_sqs, 1e-2, 0.9, 0.999, 1e-8,
                               0.1, step, False)
                cpu.rmsprop_step_(params, grads, square_avgs, buffers, grad_avgs, 1e-2, 0.99,
                                  1e-8, 0.01, 0.9, True)
                cpu.sgd_step_(params, grads, [], 0.1, 0.0, 0.0, 0.01, False, step == 1)
            results.append(params + exp_avgs + exp_avg_sqs + square_avgs + buffers + grad_avgs)
        finally:
            _C.set_isa_cap("avx512")
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---- any list of shapes (hypothesis) ----


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 70), min_size=0, max_size=6),
       kind=st.sampled_from(["sgd", "sgd-nesterov", "adam", "adamw", "rmsprop"]),
       seed=st.integers(0, 2 ** 16))
def test_any_sizes_match_reference(sizes, kind, seed):
    rng = np.random.default_rng(seed)
    params = random_list(rng, sizes)
    grads = random_list(rng, sizes)
    states = [random_list(rng, sizes, 0.0, 1.0) for _ in range(2)]
    outputs = []
    for backend in (cpu, numpy_ref):
        p, s = copies(params), [copies(values) for values in states]
        for step in (1, 2):
            if kind.startswith("sgd"):
                backend.sgd_step_(p, grads, s[0], 0.1, 0.9, 0.0, 0.01, kind == "sgd-nesterov",
                                  step == 1)
            elif kind.startswith("adam"):
                backend.adam_step_(p, grads, s[0], s[1], 1e-2, 0.9, 0.999, 1e-8, 0.1, step,
                                   kind == "adamw")
            else:
                backend.rmsprop_step_(p, grads, s[0], s[1], [], 1e-2, 0.9, 1e-8, 0.01, 0.5,
                                      False)
        outputs.append(p + s[0] + s[1])
    for a, b in zip(*outputs):
        assert_ulp_close(a, b)


# ---- Adadelta, Adagrad, amsgrad ----

ADADELTA_OPTIONS = [dict(weight_decay=w, rho=r) for w in (0.0, 0.05) for r in (0.9, 0.3)]


@pytest.mark.parametrize("options", ADADELTA_OPTIONS, ids=str)
def test_adadelta_matches_reference(setting, options):
    def step(backend, params, grads, states, number):
        backend.adadelta_step_(params, grads, states["square_avgs"], states["acc_deltas"], 1.0,
                               options["rho"], 1e-6, options["weight_decay"])

    assert_same(run_both(step, ["square_avgs", "acc_deltas"], SMALL_SIZES, 3, 21))


@pytest.mark.parametrize("options", [dict(weight_decay=w, lr_decay=d)
                                     for w in (0.0, 0.05) for d in (0.0, 0.1)], ids=str)
def test_adagrad_matches_reference(setting, options):
    def step(backend, params, grads, states, number):
        backend.adagrad_step_(params, grads, states["sums"], 1e-2, options["lr_decay"],
                              options["weight_decay"], 1e-10, number)

    assert_same(run_both(step, ["sums"], SMALL_SIZES, 3, 22))


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_amsgrad_matches_reference(setting, options):
    beta1, beta2 = options["betas"]

    def step(backend, params, grads, states, number):
        backend.adam_step_(params, grads, states["exp_avgs"], states["exp_avg_sqs"], 1e-2,
                           beta1, beta2, 1e-8, options["weight_decay"], number,
                           options["decoupled"], states["maxima"])

    assert_same(run_both(step, ["exp_avgs", "exp_avg_sqs", "maxima"], SMALL_SIZES, 3, 23))


def test_new_steps_large_and_many_tensors(setting):
    def adadelta(backend, params, grads, states, number):
        backend.adadelta_step_(params, grads, states["a"], states["b"], 1.0, 0.9, 1e-6, 0.01)

    def adagrad(backend, params, grads, states, number):
        backend.adagrad_step_(params, grads, states["a"], 1e-2, 0.01, 0.01, 1e-10, number)

    def amsgrad(backend, params, grads, states, number):
        backend.adam_step_(params, grads, states["a"], states["b"], 1e-3, 0.9, 0.999, 1e-8,
                           0.01, number, True, states["c"])

    for step in (adadelta, adagrad, amsgrad):
        assert_same(run_both(step, ["a", "b", "c"], SIZES + [0, 5], 2, 24))


def test_amsgrad_keeps_the_running_maximum_and_nan():
    for backend in (cpu, numpy_ref):
        param = np.zeros(3, np.float32)
        exp_avg, exp_avg_sq = np.zeros(3, np.float32), np.zeros(3, np.float32)
        maximum = np.array([5.0, 0.0, np.nan], np.float32)
        backend.adam_step_([param], [np.ones(3, np.float32)], [exp_avg], [exp_avg_sq], 1e-2, 0.9,
                           0.999, 1e-8, 0.0, 1, False, [maximum])
        assert maximum[0] == 5.0 and maximum[1] == exp_avg_sq[1] > 0
        assert np.isnan(maximum[2]) and np.isnan(param[2])
        assert param[0] > param[1]  # the larger maximum gives the smaller step


def test_reference_adadelta_and_adagrad_follow_pytorch_formulas():
    rng = np.random.default_rng(25)
    param = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(5)]
    lr, rho, eps, weight_decay = 0.7, 0.85, 1e-6, 0.05
    p, square_avg, acc_delta = param.copy(), np.zeros(50), np.zeros(50)
    expected, esq, eacc = param.copy(), np.zeros(50), np.zeros(50)
    for grad in grads:
        numpy_ref.adadelta_step_([p], [grad], [square_avg], [acc_delta], lr, rho, eps,
                                 weight_decay)
        grad = grad + weight_decay * expected
        esq = rho * esq + (1 - rho) * grad ** 2
        delta = np.sqrt(eacc + eps) / np.sqrt(esq + eps) * grad
        eacc = rho * eacc + (1 - rho) * delta ** 2
        expected = expected - lr * delta
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(acc_delta, eacc, rtol=1e-12)

    lr, lr_decay, eps = 0.1, 0.2, 1e-10
    p, total = param.copy(), np.full(50, 0.1)
    expected, etotal = param.copy(), np.full(50, 0.1)
    for step, grad in enumerate(grads, start=1):
        numpy_ref.adagrad_step_([p], [grad], [total], lr, lr_decay, weight_decay, eps, step)
        grad = grad + weight_decay * expected
        etotal = etotal + grad ** 2
        expected = expected - lr / (1 + (step - 1) * lr_decay) * grad / (np.sqrt(etotal) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(total, etotal, rtol=1e-12)


@pytest.mark.parametrize("backend", [cpu, numpy_ref], ids=["cpu", "numpy"])
def test_new_step_errors(backend):
    params = [np.zeros(4, np.float32) for _ in range(2)]
    with pytest.raises(ValueError, match=r"adadelta_step_: acc_deltas\[1\] must have shape"):
        backend.adadelta_step_(params, params, copies(params),
                               [np.zeros(4, np.float32), np.zeros(5, np.float32)], 1.0, 0.9,
                               1e-6, 0.0)
    with pytest.raises(ValueError, match=r"adagrad_step_: step must be >= 1, got 0"):
        backend.adagrad_step_(params, params, copies(params), 0.1, 0.0, 0.0, 1e-10, 0)
    with pytest.raises(TypeError, match=r"adagrad_step_: grads\[0\] must be float32"):
        backend.adagrad_step_(params[:1], [np.zeros(4)], copies(params[:1]), 0.1, 0.0, 0.0,
                              1e-10, 1)
    with pytest.raises(ValueError, match=r"adam_step_: max_exp_avg_sqs must have one array"):
        backend.adam_step_(*adam_args(params), params[:1])


def magnitudes(rng, size):
    """float32 values spread over the whole exponent range, with zeros, infinities and NaN."""
    values = (rng.standard_normal(size) * 2.0 ** rng.integers(-70, 60, size)).astype(np.float32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-38, 3e-39, 1e30],
                        dtype=np.float32)
    values[rng.integers(0, size, 40)] = rng.choice(specials, 40)
    return values


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="exactness checked where the build is known not to fuse")
@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize("beta2", [0.0, 0.5, 0.999, 0.9999999, 1.0 - 1e-12])
def test_adam_exact_division_on_every_isa(isa, beta2):
    """The vector builds divide sqrt(v) by the bias correction as a product with its
    reciprocal, corrected by multiply-adds; the quotient must still be the division's,
    bit for bit, over every magnitude, zero, infinity and NaN, and for divisors from 1
    down to 1e-6 (beta2 near 1 at step 1)."""
    rng = np.random.default_rng(int(beta2 * 1e6) % 1000)
    sizes = [5, 1031, 70001]
    grads_per_step = [[magnitudes(rng, size) for size in sizes] for _ in range(4)]
    results = []
    for backend, cap in ((cpu, isa), (numpy_ref, None)):
        if cap:
            _C.set_isa_cap(cap)
        try:
            params = [magnitudes(np.random.default_rng(size), size) for size in sizes]
            m, v = ([np.zeros(size, np.float32) for size in sizes] for _ in range(2))
            with np.errstate(all="ignore"):
                for step, grads in enumerate(grads_per_step, start=1):
                    backend.adam_step_(params, grads, m, v, 1e-3, 0.9, beta2, 1e-8, 0.0, step,
                                       False)
            results.append(params + m + v)
        finally:
            _C.set_isa_cap("avx512")
    for compiled, reference in zip(*results):
        np.testing.assert_array_equal(compiled, reference)
