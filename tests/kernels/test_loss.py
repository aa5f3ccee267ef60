"""Compiled losses against the NumPy reference, and the reference's gradients against
float64 finite differences.

Tolerances: per-element losses and gradients rtol 1e-5 (a few float32 roundings, libm
vs SIMD exp); atol 1e-6 scaled by the magnitude where terms cancel (log-probabilities
up to ~200 in the extreme tests). Reduced losses: the compiled sum is in double, the
reference's in float32, so rtol 1e-5. Finite differences: central, step 1e-6, float64,
rtol 1e-5, atol 1e-8.
"""
import numpy as np
import pytest

from cunn import _C
from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")
REDUCTIONS = ("mean", "sum", "none")
POINTWISE = ("mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits")


def classification(batch, classes, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((batch, classes)) * scale).astype(np.float32)
    labels = rng.integers(0, classes, batch).astype(np.int64)
    return logits, labels


def grad_output_for(reduction, shape, seed=2):
    if reduction == "none":
        return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.array(0.7, np.float32)


def close(got, want, atol=1e-6):
    assert got.dtype == np.float32 and got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batch,classes", [
    (1, 1), (1, 10), (64, 10), (7, 8), (9, 15), (16, 16), (17, 17), (31, 33), (3, 1009),
    (1000, 1003), (0, 5),
])
def test_cross_entropy_and_nll(batch, classes, reduction, setting):
    logits, labels = classification(batch, classes)
    with np.errstate(invalid="ignore"):  # the mean of an empty batch is NaN
        loss, log_probs = cpu.cross_entropy_forward(logits, labels, reduction)
        want_loss, want_log_probs = ref.cross_entropy_forward(logits, labels, reduction)
        close(log_probs, want_log_probs, atol=1e-5)
        close(loss, want_loss)
        assert loss.shape == ((batch,) if reduction == "none" else ())
        close(cpu.nll_loss_forward(want_log_probs, labels, reduction),
              ref.nll_loss_forward(want_log_probs, labels, reduction))
    g = grad_output_for(reduction, (batch,))
    close(cpu.cross_entropy_backward(g, want_log_probs, labels, reduction),
          ref.cross_entropy_backward(g, want_log_probs, labels, reduction))
    close(cpu.nll_loss_backward(g, labels, classes, reduction),
          ref.nll_loss_backward(g, labels, classes, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extreme_logits(reduction, setting):
    logits = np.array([[100, -100, 0], [-100, 100, -100], [0, -np.inf, -np.inf],
                       [-np.inf, 5, -np.inf], [100, 100, 100]], np.float32)
    labels = np.array([0, 0, 0, 1, 2])
    loss, log_probs = cpu.cross_entropy_forward(logits, labels, reduction)
    want_loss, want_log_probs = ref.cross_entropy_forward(logits, labels, reduction)
    assert np.isfinite(loss).all()
    close(log_probs, want_log_probs, atol=1e-4)
    close(loss, want_loss, atol=1e-4)
    g = grad_output_for(reduction, (5,))
    grad = cpu.cross_entropy_backward(g, log_probs, labels, reduction)
    assert np.isfinite(grad).all()
    close(grad, ref.cross_entropy_backward(g, want_log_probs, labels, reduction))


@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1,), (7,), (16,), (17,), (33,), (64, 10), (5, 3, 7),
                                   (1000, 1003), (0, 3)])
def test_pointwise_losses(name, reduction, shape, setting):
    rng = np.random.default_rng(4)
    if name == "binary_cross_entropy":
        x = rng.uniform(0.001, 0.999, shape).astype(np.float32)
    else:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.uniform(0, 1, shape).astype(np.float32)
    with np.errstate(invalid="ignore"):
        got = getattr(cpu, name + "_forward")(x, t, reduction)
        want = getattr(ref, name + "_forward")(x, t, reduction)
    assert got.shape == (shape if reduction == "none" else ())
    close(got, want)
    g = grad_output_for(reduction, shape)
    close(getattr(cpu, name + "_backward")(g, x, t, reduction),
          getattr(ref, name + "_backward")(g, x, t, reduction))


def test_pointwise_non_contiguous_inputs():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.01, 0.99, (20, 30)).astype(np.float32)
    t = rng.uniform(0, 1, (30, 20)).astype(np.float32)
    for name in POINTWISE:
        close(getattr(cpu, name + "_forward")(x.T, t, "none"),
              getattr(ref, name + "_forward")(x.T, t, "none"))
        close(getattr(cpu, name + "_backward")(np.ones((30, 20), np.float32)[::-1], x.T, t, "none"),
              getattr(ref, name + "_backward")(np.ones((30, 20), np.float32), x.T, t, "none"))


def test_binary_cross_entropy_edges():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5], np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    got = cpu.binary_cross_entropy_forward(x, t, "none")
    with np.errstate(divide="ignore"):
        want = ref.binary_cross_entropy_forward(x, t, "none")
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[0] == 0 and got[1] == 0 and got[2] == 100 and got[3] == 100  # log clamped at -100
    grad = cpu.binary_cross_entropy_backward(np.ones(6, np.float32), x, t, "none")
    assert np.isfinite(grad).all() and grad[2] == pytest.approx(-1e12, rel=1e-6)
    logits = np.array([-100, -90, 0, 90, 100, np.inf], np.float32)
    got = cpu.binary_cross_entropy_with_logits_forward(logits, np.full(6, 0.25, np.float32), "none")
    assert np.isfinite(got[:5]).all()
    np.testing.assert_allclose(got[:5], ref.binary_cross_entropy_with_logits_forward(
        logits[:5], np.full(5, 0.25, np.float32), "none"), rtol=1e-6)


def test_label_and_argument_errors():
    logits, labels = classification(4, 3)
    for bad in (3, -1):
        wrong = labels.copy()
        wrong[2] = bad
        with pytest.raises(ValueError, match=rf"cross_entropy_forward: labels .*got {bad}"):
            cpu.cross_entropy_forward(logits, wrong, "mean")
        with pytest.raises(ValueError, match=rf"nll_loss_forward: labels .*got {bad}"):
            cpu.nll_loss_forward(logits, wrong, "mean")
        with pytest.raises(ValueError, match=rf"nll_loss_backward: labels .*got {bad}"):
            cpu.nll_loss_backward(np.ones((), np.float32), wrong, 3, "mean")
        with pytest.raises(ValueError, match=rf"cross_entropy_backward: labels .*got {bad}"):
            cpu.cross_entropy_backward(np.ones((), np.float32), logits, wrong, "sum")
    with pytest.raises(TypeError, match="cross_entropy_forward: labels must be int64, got int32"):
        cpu.cross_entropy_forward(logits, labels.astype(np.int32), "mean")
    with pytest.raises(TypeError, match="cross_entropy_forward: logits must be float32"):
        cpu.cross_entropy_forward(logits.astype(np.float64), labels, "mean")
    with pytest.raises(ValueError, match=r"cross_entropy_forward: labels must have shape \(4,\)"):
        cpu.cross_entropy_forward(logits, labels[:3], "mean")
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        cpu.cross_entropy_forward(logits, labels, "avg")
    with pytest.raises(ValueError, match=r"cross_entropy_backward: grad_output must have shape \(\)"):
        cpu.cross_entropy_backward(np.ones(4, np.float32), logits, labels, "mean")
    with pytest.raises(ValueError, match=r"mse_loss_forward: target must have shape \(4, 3\)"):
        cpu.mse_loss_forward(logits, logits.T, "mean")
    with pytest.raises(TypeError, match="l1_loss_forward: target must be float32, got float64"):
        cpu.l1_loss_forward(logits, logits.astype(np.float64), "sum")
    for bad in (-0.5, 1.5):
        probabilities = np.full(5, 0.5, np.float32)
        probabilities[3] = bad
        with pytest.raises(ValueError, match="binary_cross_entropy_forward: input must hold "
                                             r"probabilities in \[0, 1\], got"):
            cpu.binary_cross_entropy_forward(probabilities, probabilities, "mean")
        with pytest.raises(ValueError, match="input must hold probabilities"):
            ref.binary_cross_entropy_forward(probabilities, probabilities, "mean")
    with pytest.raises(ValueError, match=r"mse_loss_backward: grad_output must have shape \(4, 3\)"):
        cpu.mse_loss_backward(np.ones((), np.float32), logits, logits, "none")


def numeric_gradient(loss_of, x, step=1e-6):
    numeric = np.empty_like(x)
    for i in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[i] += step
        minus.flat[i] -= step
        numeric.flat[i] = (np.sum(loss_of(plus)) - np.sum(loss_of(minus))) / (2 * step)
    return numeric


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reference_gradients_by_finite_differences(reduction):
    rng = np.random.default_rng(8)
    shape = (3, 4)
    # grad_output = 1 everywhere so the scalar objective is the plain sum of the loss.
    ones = np.ones(shape[:1] if reduction == "none" else ())
    logits = rng.standard_normal(shape) * 2
    labels = np.array([0, 3, 1])
    _, log_probs = ref.cross_entropy_forward(logits, labels, reduction)
    assert log_probs.dtype == np.float64
    np.testing.assert_allclose(
        ref.cross_entropy_backward(ones, log_probs, labels, reduction),
        numeric_gradient(lambda v: ref.cross_entropy_forward(v, labels, reduction)[0], logits),
        rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(
        ref.nll_loss_backward(ones, labels, 4, reduction),
        numeric_gradient(lambda v: ref.nll_loss_forward(v, labels, reduction), log_probs),
        rtol=1e-5, atol=1e-8)
    ones = np.ones(shape if reduction == "none" else ())
    target = rng.uniform(0, 1, shape)
    for name in POINTWISE:
        if name == "binary_cross_entropy":
            x = rng.uniform(0.05, 0.95, shape)
        else:
            x = rng.standard_normal(shape) * 2
        if name == "l1_loss":
            x[np.abs(x - target) < 1e-3] += 0.01  # stay off the kink
        forward = getattr(ref, name + "_forward")
        np.testing.assert_allclose(
            getattr(ref, name + "_backward")(ones, x, target, reduction),
            numeric_gradient(lambda v: forward(v, target, reduction), x),
            rtol=1e-5, atol=1e-8, err_msg=name)


def test_reduced_losses_do_not_depend_on_thread_count():
    logits, labels = classification(20000, 7, seed=9)
    x = np.random.default_rng(9).uniform(0.01, 0.99, 100_003).astype(np.float32)
    t = np.random.default_rng(10).uniform(0, 1, 100_003).astype(np.float32)
    saved = _C.get_num_threads()
    results = {}
    try:
        for threads in (1, 2):
            _C.set_num_threads(threads)
            results[threads] = [cpu.cross_entropy_forward(logits, labels, "mean")[0]] + [
                getattr(cpu, name + "_forward")(x, t, reduction)
                for name in POINTWISE for reduction in ("mean", "sum")]
    finally:
        _C.set_num_threads(saved)
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


def test_cross_entropy_non_contiguous_inputs():
    logits, labels = classification(10, 33, seed=11)
    view = np.asarray(logits.T.copy()).T   # (10, 33), Fortran order
    strided_labels = np.repeat(labels, 2)[::2]
    for reduction in REDUCTIONS:
        loss, log_probs = cpu.cross_entropy_forward(view, strided_labels, reduction)
        want_loss, want_log_probs = ref.cross_entropy_forward(logits, labels, reduction)
        close(loss, want_loss)
        close(log_probs, want_log_probs, atol=1e-5)
        g = grad_output_for(reduction, (10,))
        close(cpu.cross_entropy_backward(g, want_log_probs.T.copy().T, strided_labels, reduction),
              ref.cross_entropy_backward(g, want_log_probs, labels, reduction))
