"""The loss kernels' options (class weights, ignore_index, label smoothing, probability
targets; smooth_l1 / huber / kl_div; per-element weight and pos_weight): compiled
against the NumPy reference with 1 and 2 threads and each ISA, and the reference's
gradients against float64 finite differences.

Tolerances as tests/kernels/test_loss.py: rtol 1e-5, atol 1e-6 (both compute row sums
in double and round once; exp differs by an ulp between libm and the SIMD path).
"""
import numpy as np
import pytest

from cunn._backends import get

cpu = get("cpu")
ref = get("numpy")
REDUCTIONS = ("mean", "sum", "none")
SHAPES = [(1, 1), (1, 10), (7, 8), (17, 17), (31, 33), (3, 1009), (1000, 1003), (0, 5)]


def close(got, want, atol=1e-6):
    assert got.dtype == np.float32 and got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


def grad_output_for(reduction, shape, seed=2):
    if reduction == "none":
        return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.array(0.7, np.float32)


def class_case(batch, classes, seed=0):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((batch, classes)) * 3).astype(np.float32)
    labels = rng.integers(0, classes, batch).astype(np.int64)
    labels[::4] = -100
    weight = rng.uniform(0.1, 2.0, classes).astype(np.float32)
    probs = rng.dirichlet(np.ones(classes), batch).astype(np.float32) if batch else \
        np.zeros((0, classes), np.float32)
    return logits, labels, weight, probs


OPTIONS = [dict(weight=True), dict(ignore_index=-100), dict(label_smoothing=0.1),
           dict(weight=True, label_smoothing=0.3, ignore_index=-100)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batch,classes", SHAPES)
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("target", ["labels", "probabilities"])
def test_class_losses_match_reference(batch, classes, reduction, options, target, setting):
    logits, labels, weight, probs = class_case(batch, classes)
    kwargs = dict(options)
    if kwargs.pop("weight", False):
        kwargs["weight"] = weight
    targets = labels if target == "labels" else probs
    if target == "probabilities":
        kwargs.pop("ignore_index", None)
    with np.errstate(invalid="ignore", divide="ignore"):  # means over nothing are NaN
        loss, log_probs = cpu.cross_entropy_forward(logits, targets, reduction, **kwargs)
        want_loss, want_log_probs = ref.cross_entropy_forward(logits, targets, reduction,
                                                              **kwargs)
    close(log_probs, want_log_probs, atol=1e-5)
    close(loss, want_loss)
    g = grad_output_for(reduction, (batch,))
    with np.errstate(invalid="ignore", divide="ignore"):
        close(cpu.cross_entropy_backward(g, want_log_probs, targets, reduction, **kwargs),
              ref.cross_entropy_backward(g, want_log_probs, targets, reduction, **kwargs))
        if target == "labels":
            kwargs.pop("label_smoothing", None)
            close(cpu.nll_loss_forward(want_log_probs, labels, reduction, **kwargs),
                  ref.nll_loss_forward(want_log_probs, labels, reduction, **kwargs))
            close(cpu.nll_loss_backward(g, labels, classes, reduction, **kwargs),
                  ref.nll_loss_backward(g, labels, classes, reduction, **kwargs))


def test_ignore_index_inside_the_class_range():
    logits, labels, weight, _ = class_case(9, 4)
    labels = np.array([0, 1, 2, 3, 2, 2, 0, 1, 3])
    for backend in (cpu, ref):
        loss, log_probs = backend.cross_entropy_forward(logits, labels, "none", ignore_index=2)
        assert (loss[labels == 2] == 0).all() and (loss[labels != 2] > 0).all()
        grad = backend.cross_entropy_backward(np.ones(9, np.float32), log_probs, labels,
                                              "none", ignore_index=2)
        assert (grad[labels == 2] == 0).all()
        np.testing.assert_allclose(grad[labels != 2].sum(1), 0, atol=1e-6)


def test_options_path_agrees_with_the_plain_path():
    """Unit weights take the options kernels and must give the plain kernels' numbers."""
    logits, labels, _, _ = class_case(33, 10)
    labels = np.where(labels < 0, 0, labels)
    ones = np.ones(10, np.float32)
    for reduction in REDUCTIONS:
        plain, log_probs = cpu.cross_entropy_forward(logits, labels, reduction)
        same, _ = cpu.cross_entropy_forward(logits, labels, reduction, None, -100, 0.0)
        assert plain.tobytes() == same.tobytes()
        close(cpu.cross_entropy_forward(logits, labels, reduction, weight=ones)[0], plain)
        g = grad_output_for(reduction, (33,))
        close(cpu.cross_entropy_backward(g, log_probs, labels, reduction, weight=ones),
              cpu.cross_entropy_backward(g, log_probs, labels, reduction))
        close(cpu.nll_loss_backward(g, labels, 10, reduction, weight=ones),
              cpu.nll_loss_backward(g, labels, 10, reduction))


ARRAY = "a random array of the input's shape"
POINTWISE = [("smooth_l1_loss", dict(beta=0.7)), ("smooth_l1_loss", dict(beta=2.0)),
             ("huber_loss", dict(delta=0.5)), ("huber_loss", dict(delta=1.5)),
             ("kl_div", dict(log_target=False)), ("kl_div", dict(log_target=True)),
             ("binary_cross_entropy", dict(weight=ARRAY)),
             ("binary_cross_entropy_with_logits", dict(weight=ARRAY)),
             ("binary_cross_entropy_with_logits", dict(pos_weight=ARRAY)),
             ("binary_cross_entropy_with_logits", dict(weight=ARRAY, pos_weight=ARRAY))]


@pytest.mark.parametrize("name,options", POINTWISE, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1,), (7,), (17,), (5, 3, 7), (1000, 1003), (0, 3)])
def test_pointwise_options_match_reference(name, options, reduction, shape, setting):
    rng = np.random.default_rng(4)
    if name == "binary_cross_entropy":
        x = rng.uniform(0.001, 0.999, shape).astype(np.float32)
    else:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.uniform(0, 1, shape).astype(np.float32)
    if name == "kl_div":
        t.reshape(-1)[::5] = 0.0
    kwargs = {key: (rng.uniform(0.1, 3.0, shape).astype(np.float32) if value is ARRAY
                    else value) for key, value in options.items()}
    with np.errstate(invalid="ignore"):
        got = getattr(cpu, name + "_forward")(x, t, reduction, **kwargs)
        want = getattr(ref, name + "_forward")(x, t, reduction, **kwargs)
    assert got.shape == (shape if reduction == "none" else ())
    close(got, want)
    g = grad_output_for(reduction, shape)
    close(getattr(cpu, name + "_backward")(g, x, t, reduction, **kwargs),
          getattr(ref, name + "_backward")(g, x, t, reduction, **kwargs))


def test_option_errors_on_both_backends():
    logits, labels, weight, _ = class_case(4, 3)
    labels = np.where(labels < 0, 0, labels)
    for backend in (cpu, ref):
        with pytest.raises(ValueError, match=r"cross_entropy.*weight must have shape \(3,\)"):
            backend.cross_entropy_forward(logits, labels, "mean", weight=np.ones(4, np.float32))
        with pytest.raises(ValueError, match=r"nll_loss.*labels must be in \[0, 3\), got -100"):
            backend.nll_loss_forward(logits, np.array([0, 1, 2, -100]), "mean", ignore_index=1)
        with pytest.raises(ValueError, match="label_smoothing must be in"):
            backend.cross_entropy_forward(logits, labels, "mean", label_smoothing=-0.5)
        with pytest.raises(ValueError, match="weight must have shape"):
            backend.binary_cross_entropy_with_logits_forward(logits, logits, "mean",
                                                             weight=np.ones(3, np.float32))
        with pytest.raises(ValueError, match=r"target.*\(4, 3\)"):
            backend.cross_entropy_forward(logits, np.ones((4, 2), np.float32), "mean")


# ---- the reference's gradients against float64 finite differences ----

def numeric_gradient(function, x, step=1e-6):
    grad = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        shifted = [x.copy(), x.copy()]
        shifted[0][position] += step
        shifted[1][position] -= step
        grad[position] = (function(shifted[0]) - function(shifted[1])) / (2 * step)
    return grad


def log_softmax64(x):
    shifted = x - x.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


@pytest.mark.parametrize("target", ["labels", "probabilities"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_loss_gradients_by_finite_differences(target, reduction):
    logits, labels, weight, probs = class_case(6, 5, seed=3)
    logits = logits.astype(np.float64)
    targets = labels if target == "labels" else probs.astype(np.float64)
    kwargs = dict(weight=weight.astype(np.float64), label_smoothing=0.2)
    projection = np.random.default_rng(1).standard_normal(6 if reduction == "none" else ())

    def total(x):
        loss, _ = ref.cross_entropy_forward(x, targets, reduction, **kwargs)
        return float((loss * projection).sum())

    _, log_probs = ref.cross_entropy_forward(logits, targets, reduction, **kwargs)
    analytic = ref.cross_entropy_backward(projection, log_probs, targets, reduction, **kwargs)
    np.testing.assert_allclose(analytic, numeric_gradient(total, logits), rtol=1e-5, atol=1e-8)
    if target == "labels":
        del kwargs["label_smoothing"]
        log_probs = log_softmax64(logits)

        def nll_total(x):
            return float((ref.nll_loss_forward(x, labels, reduction, **kwargs)
                          * projection).sum())

        analytic = ref.nll_loss_backward(projection, labels, 5, reduction, **kwargs)
        np.testing.assert_allclose(analytic, numeric_gradient(nll_total, log_probs),
                                   rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name,options", POINTWISE, ids=str)
def test_pointwise_gradients_by_finite_differences(name, options):
    rng = np.random.default_rng(8)
    shape = (4, 5)
    if name == "binary_cross_entropy":
        x = rng.uniform(0.05, 0.95, shape)
    else:
        # Away from the kinks of smooth_l1 / huber, where the derivative jumps.
        x = rng.standard_normal(shape) * 2
    t = rng.uniform(0.05, 1, shape)
    kwargs = {key: (rng.uniform(0.1, 3.0, shape) if value is ARRAY else value)
              for key, value in options.items()}
    projection = rng.standard_normal(shape)

    def total(values):
        return float((getattr(ref, name + "_forward")(values, t, "none", **kwargs)
                      * projection).sum())

    analytic = getattr(ref, name + "_backward")(projection, x, t, "none", **kwargs)
    np.testing.assert_allclose(analytic, numeric_gradient(total, x), rtol=1e-5, atol=1e-8)
