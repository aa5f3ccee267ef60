"""Losses with PyTorch's options against torch.nn.functional as the oracle: forward
values and input gradients (and the target's, where PyTorch has one) on both
backends, odd sizes and batch 1; the loss modules and their state dicts; F.one_hot.

Tolerance: rtol 2e-5, atol 1e-6 — float32 terms summed in different orders (cunn
sums reduced losses in double, PyTorch in float32).
"""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = dict(rtol=2e-5, atol=1e-6)
SHAPES = [(1, 3), (7, 5), (33, 17)]
REDUCTIONS = ["mean", "sum", "none"]


def rng_for(*key):
    return np.random.default_rng(abs(hash(key)) % 2 ** 32)


def compare(ours_fn, torch_fn, arrays, grad_inputs=(0,)):
    """Runs both on the same float32 arrays (ints stay ints); compares the loss and the
    gradients of the arrays listed in ``grad_inputs``."""
    ours = [cunn.tensor(a, requires_grad=i in grad_inputs) if a.dtype.kind == "f"
            else cunn.tensor(a) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad_inputs) if a.dtype.kind == "f"
              else torch.tensor(a) for i, a in enumerate(arrays)]
    loss = ours_fn(*ours)
    expected = torch_fn(*theirs)
    assert loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), **TOL)
    projection = rng_for("projection", loss.shape).standard_normal(loss.shape).astype(np.float32)
    loss.backward(cunn.tensor(projection))
    expected.backward(torch.tensor(projection))
    for index in grad_inputs:
        np.testing.assert_allclose(ours[index].grad.numpy(), theirs[index].grad.numpy(), **TOL,
                                   err_msg=f"gradient of input {index}")


def logits_and_labels(batch, classes, ignore_index=None, seed=0):
    rng = rng_for("ce", batch, classes, seed)
    logits = (3 * rng.standard_normal((batch, classes))).astype(np.float32)
    labels = rng.integers(0, classes, batch).astype(np.int64)
    if ignore_index is not None and batch > 2:
        labels[::3] = ignore_index
    return logits, labels


def class_weight(classes):
    return rng_for("w", classes).uniform(0.2, 3.0, classes).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("ignore_index", [None, -100, 1], ids=["", "ignore-100", "ignore1"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
def test_cross_entropy_with_labels(backend, shape, reduction, weighted, ignore_index,
                                   label_smoothing):
    batch, classes = shape
    logits, labels = logits_and_labels(batch, classes, ignore_index)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    if ignore_index is not None:
        options["ignore_index"] = ignore_index
    arrays = [logits, labels]
    if weighted:
        arrays.append(class_weight(classes))
        compare(lambda x, y, w: F.cross_entropy(x, y, weight=w, **options),
                lambda x, y, w: TF.cross_entropy(x, y, weight=w, **options), arrays)
    else:
        compare(lambda x, y: F.cross_entropy(x, y, **options),
                lambda x, y: TF.cross_entropy(x, y, **options), arrays)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_with_probabilities(backend, shape, reduction, weighted,
                                          label_smoothing):
    batch, classes = shape
    logits, _ = logits_and_labels(batch, classes)
    probs = rng_for("p", shape).dirichlet(np.ones(classes), batch).astype(np.float32)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    if weighted:
        compare(lambda x, t, w: F.cross_entropy(x, t, weight=w, **options),
                lambda x, t, w: TF.cross_entropy(x, t, weight=w, **options),
                [logits, probs, class_weight(classes)])
    else:
        compare(lambda x, t: F.cross_entropy(x, t, **options),
                lambda x, t: TF.cross_entropy(x, t, **options), [logits, probs])


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("ignore_index", [None, -100, 0], ids=["", "ignore-100", "ignore0"])
def test_nll_loss(backend, shape, reduction, weighted, ignore_index):
    batch, classes = shape
    logits, labels = logits_and_labels(batch, classes, ignore_index, seed=1)
    log_probs = (logits - np.log(np.exp(logits).sum(1, keepdims=True))).astype(np.float32)
    options = dict(reduction=reduction)
    if ignore_index is not None:
        options["ignore_index"] = ignore_index
    if weighted:
        compare(lambda x, y, w: F.nll_loss(x, y, weight=w, **options),
                lambda x, y, w: TF.nll_loss(x, y, weight=w, **options),
                [log_probs, labels, class_weight(classes)])
    else:
        compare(lambda x, y: F.nll_loss(x, y, **options),
                lambda x, y: TF.nll_loss(x, y, **options), [log_probs, labels])


def test_weighted_mean_divides_by_the_weights_not_ignored(backend):
    """The documented rule, by hand: sum of w_y * loss_i over kept rows / sum of w_y."""
    log_probs = np.log(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]], np.float32))
    labels = np.array([0, 1, -100])
    weight = np.array([1.0, 3.0], np.float32)
    loss = F.nll_loss(cunn.tensor(log_probs), cunn.tensor(labels), weight=cunn.tensor(weight))
    expected = (-np.log(0.5) * 1.0 - np.log(0.1) * 3.0) / 4.0
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    every_row_ignored = F.cross_entropy(cunn.tensor(log_probs), cunn.tensor([-100] * 3))
    assert np.isnan(every_row_ignored.item())


def pair(shape, seed=0, scale=2.0):
    rng = rng_for("pair", shape, seed)
    return [(scale * rng.standard_normal(shape)).astype(np.float32) for _ in range(2)]


POINTWISE_SHAPES = [(1,), (7, 5), (3, 17, 2)]


@pytest.mark.parametrize("shape", POINTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.5, 1.0, 0.0, 3.0])
def test_smooth_l1_loss(backend, shape, reduction, beta):
    compare(lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
            lambda x, t: TF.smooth_l1_loss(x, t, reduction=reduction, beta=beta),
            pair(shape), grad_inputs=(0, 1))


@pytest.mark.parametrize("shape", POINTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_loss(backend, shape, reduction, delta):
    compare(lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=delta),
            lambda x, t: TF.huber_loss(x, t, reduction=reduction, delta=delta),
            pair(shape), grad_inputs=(0, 1))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("shape", [(1, 4), (7, 5), (3, 17, 2)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(backend, shape, reduction, log_target):
    rng = rng_for("kl", shape)
    log_probs = np.log(rng.dirichlet(np.ones(shape[-1]), shape[:-1])).astype(np.float32)
    target = rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)
    target.reshape(-1)[::4] = 0.0  # xlogy(0, 0) = 0
    if log_target:
        target = np.log(np.maximum(target, 1e-6)).astype(np.float32)
    compare(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
            lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
            [log_probs, target])


@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (4, 3, 6)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "last-dim"])
def test_binary_cross_entropy_with_weight(backend, shape, reduction, weight):
    rng = rng_for("bce", shape)
    probs = rng.uniform(0.02, 0.98, shape).astype(np.float32)
    target = rng.uniform(0, 1, shape).astype(np.float32)
    arrays = [probs, target]
    if weight is None:
        compare(lambda x, t: F.binary_cross_entropy(x, t, reduction=reduction),
                lambda x, t: TF.binary_cross_entropy(x, t, reduction=reduction), arrays)
        return
    w_shape = shape if weight == "full" else shape[-1:]
    arrays.append(rng.uniform(0.1, 2.0, w_shape).astype(np.float32))
    compare(lambda x, t, w: F.binary_cross_entropy(x, t, weight=w, reduction=reduction),
            lambda x, t, w: TF.binary_cross_entropy(x, t, weight=w, reduction=reduction),
            arrays)


@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (4, 3, 6)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["", "pos_weight"])
def test_binary_cross_entropy_with_logits_options(backend, shape, reduction, weighted,
                                                  pos_weighted):
    rng = rng_for("bcel", shape)
    logits = (4 * rng.standard_normal(shape)).astype(np.float32)
    target = rng.uniform(0, 1, shape).astype(np.float32)
    weight = rng.uniform(0.1, 2.0, shape[-1:]).astype(np.float32) if weighted else None
    pos_weight = rng.uniform(0.1, 5.0, shape[-1:]).astype(np.float32) if pos_weighted else None

    def ours(x, t):
        return F.binary_cross_entropy_with_logits(
            x, t, weight=None if weight is None else cunn.tensor(weight),
            reduction=reduction, pos_weight=None if pos_weight is None else cunn.tensor(pos_weight))

    def theirs(x, t):
        return TF.binary_cross_entropy_with_logits(
            x, t, weight=None if weight is None else torch.tensor(weight),
            reduction=reduction,
            pos_weight=None if pos_weight is None else torch.tensor(pos_weight))

    compare(ours, theirs, [logits, target])


def test_modules_match_functional_and_keep_weights_in_state_dict():
    logits, labels = logits_and_labels(7, 5, ignore_index=2)
    weight = class_weight(5)
    module = nn.CrossEntropyLoss(weight=cunn.tensor(weight), ignore_index=2, label_smoothing=0.1)
    expected = TF.cross_entropy(torch.tensor(logits), torch.tensor(labels),
                                weight=torch.tensor(weight), ignore_index=2, label_smoothing=0.1)
    np.testing.assert_allclose(module(cunn.tensor(logits), cunn.tensor(labels)).item(),
                               expected.item(), **TOL)
    assert list(module.state_dict()) == ["weight"] == list(torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weight)).state_dict())
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    bce = nn.BCEWithLogitsLoss(pos_weight=cunn.tensor(np.full(5, 2.0, np.float32)))
    assert list(bce.state_dict()) == ["pos_weight"]
    for ours, theirs, kwargs in [(nn.SmoothL1Loss, torch.nn.SmoothL1Loss, dict(beta=0.4)),
                                 (nn.HuberLoss, torch.nn.HuberLoss, dict(delta=0.4)),
                                 (nn.KLDivLoss, torch.nn.KLDivLoss,
                                  dict(reduction="batchmean", log_target=True)),
                                 (nn.NLLLoss, torch.nn.NLLLoss, dict(ignore_index=1))]:
        x, t = pair((6, 5), 3)
        if ours is nn.NLLLoss:
            t = labels[:6]
        np.testing.assert_allclose(ours(**kwargs)(cunn.tensor(x), cunn.tensor(t)).item(),
                                   theirs(**kwargs)(torch.tensor(x), torch.tensor(t)).item(),
                                   **TOL)


@pytest.mark.filterwarnings("ignore:size_average and reduce args:UserWarning")
def test_legacy_size_average_and_reduce():
    x, t = pair((4, 3))
    for size_average, reduce in [(False, None), (None, False), (True, True)]:
        ours = F.mse_loss(cunn.tensor(x), cunn.tensor(t), size_average=size_average,
                          reduce=reduce)
        theirs = TF.mse_loss(torch.tensor(x), torch.tensor(t), size_average=size_average,
                             reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL)


@pytest.mark.parametrize("num_classes", [-1, 7])
def test_one_hot_matches_torch(num_classes):
    labels = np.array([[0, 3], [5, 1], [2, 2]])
    ours = F.one_hot(cunn.tensor(labels), num_classes)
    theirs = TF.one_hot(torch.tensor(labels), num_classes)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match=r"one_hot: class values must be in \[0, 3\)"):
        F.one_hot(cunn.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot: tensor must hold integer"):
        F.one_hot(cunn.tensor([0.5]))


def test_errors_name_the_function_and_argument():
    logits, labels = logits_and_labels(4, 3)
    x, y = cunn.tensor(logits), cunn.tensor(labels)
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one value per "
                                         r"class, shape \(3,\)"):
        F.cross_entropy(x, y, weight=cunn.tensor(np.ones(4, np.float32)))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(x, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"cross_entropy.*labels must be in \[0, 3\), got 3"):
        F.cross_entropy(x, cunn.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"nll_loss.*labels must be in \[0, 3\), got -100"):
        F.nll_loss(x, cunn.tensor([0, 1, 2, -100]), ignore_index=0)
    with pytest.raises(ValueError, match=r"cross_entropy: target probabilities must have the "
                                         r"input's shape"):
        F.cross_entropy(x, cunn.tensor(np.ones((4, 2), np.float32)))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="kl_div: reduction"):
        F.kl_div(x, x, reduction="batch")
    with pytest.raises(ValueError, match="KLDivLoss: reduction"):
        nn.KLDivLoss(reduction="batch")
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of "
                                         r"shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=cunn.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="kl_div: the gradient with respect to target"):
        F.kl_div(x, cunn.tensor(logits, requires_grad=True))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
def test_cross_entropy_spatial_and_unbatched_layouts(backend, reduction, target_kind):
    """(N, C, d1, d2) inputs (segmentation) and an unbatched (C,) input, as PyTorch."""
    rng = rng_for("layout", reduction, target_kind)
    logits = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    if target_kind == "labels":
        target = rng.integers(0, 5, (2, 3, 4))
        target[0, 1, 2] = 1
        options = dict(ignore_index=1, weight=class_weight(5), label_smoothing=0.1)
    else:
        target = rng.dirichlet(np.ones(5), (2, 3, 4)).transpose(0, 3, 1, 2).astype(np.float32)
        options = dict(weight=class_weight(5), label_smoothing=0.1)
    weight = options.pop("weight")
    compare(lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction=reduction, **options),
            lambda x, t, w: TF.cross_entropy(x, t, weight=w, reduction=reduction, **options),
            [logits, target, weight])
    log_probs = np.log(rng.dirichlet(np.ones(5), (2, 3, 4))).transpose(0, 3, 1, 2)
    log_probs = np.ascontiguousarray(log_probs, dtype=np.float32)
    if target_kind == "labels":
        compare(lambda x, t: F.nll_loss(x, t, reduction=reduction, ignore_index=1),
                lambda x, t: TF.nll_loss(x, t, reduction=reduction, ignore_index=1),
                [log_probs, target])
    single = rng.standard_normal(7).astype(np.float32)
    single_target = np.array(4) if target_kind == "labels" else \
        rng.dirichlet(np.ones(7)).astype(np.float32)
    compare(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
            lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [single, single_target])


def test_layout_errors():
    x = cunn.tensor(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"cross_entropy: target must have shape \(2, 3\)"):
        F.cross_entropy(x, cunn.tensor(np.zeros((2, 5), np.int64)))
    with pytest.raises(ValueError, match="cross_entropy: for an unbatched input"):
        F.cross_entropy(cunn.tensor(np.zeros(5, np.float32)), cunn.tensor([1]))
