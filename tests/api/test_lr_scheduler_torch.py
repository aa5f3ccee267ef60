"""cunn.optim.lr_scheduler against torch.optim.lr_scheduler: the lr sequence (and the
momentum OneCycleLR cycles) step for step over 40 steps, with state_dict round trips
in the middle of the schedule. Exact equality is expected: both compute the same
double-precision formulas in the same order."""
import math

import numpy as np
import pytest

import cunn
from cunn import nn, optim
from cunn.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 40


class Warmup:
    """A callable object: LambdaLR saves its attributes in state_dict, as PyTorch does."""

    def __init__(self, length):
        self.length = length

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.length)


SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 25], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=40)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch)),
    ("LambdaLR", dict(lr_lambda=Warmup(8))),
    ("LinearLR", {}),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.7, total_iters=20)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=10, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, three_phase=True,
                        base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False)),
]

OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))]


def two_groups(library, name, options):
    """An optimizer with two parameter groups (the second with half the lr)."""
    if library is torch:
        first, second = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
        cls = getattr(torch.optim, name)
    else:
        first = nn.Parameter(cunn.tensor(np.ones(3, np.float32)))
        second = nn.Parameter(cunn.tensor(np.ones(2, np.float32)))
        cls = getattr(optim, name)
    return cls([{"params": [first]}, {"params": [second], "lr": options["lr"] / 2}], **options)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def schedule(library, optimizer_name, optimizer_options, name, options, break_at=None):
    optimizer = two_groups(library, optimizer_name, optimizer_options)
    module = torch.optim.lr_scheduler if library is torch else lr_scheduler
    scheduler = getattr(module, name)(optimizer, **options)
    sequence = [(scheduler.get_last_lr(), [momentum_of(g) for g in optimizer.param_groups])]
    for step in range(1, STEPS):
        if step == break_at:
            saved_optimizer = optimizer.state_dict()
            saved = scheduler.state_dict()
            optimizer = two_groups(library, optimizer_name, optimizer_options)
            optimizer.load_state_dict(saved_optimizer)
            scheduler = getattr(module, name)(optimizer, **options, last_epoch=step - 1)
            scheduler.load_state_dict(saved)
        optimizer.step()
        scheduler.step()
        sequence.append((scheduler.get_last_lr(),
                         [momentum_of(g) for g in optimizer.param_groups]))
    return sequence


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("optimizer_name,optimizer_options", OPTIMIZERS, ids=["SGD", "Adam"])
@pytest.mark.parametrize("name,options", SCHEDULES, ids=lambda v: str(v)[:40])
def test_sequence_matches_torch(optimizer_name, optimizer_options, name, options):
    expected = schedule(torch, optimizer_name, optimizer_options, name, options)
    assert schedule(cunn, optimizer_name, optimizer_options, name, options) == expected
    # Broken off mid-schedule and resumed from the state dicts: the same sequence.
    assert schedule(cunn, optimizer_name, optimizer_options, name, options,
                    break_at=17) == expected


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,options", [s for s in SCHEDULES if s[0] != "OneCycleLR"],
                         ids=lambda v: str(v)[:40])
def test_epoch_argument_jumps_to_the_closed_form(name, options):
    ours, theirs = two_groups(cunn, "SGD", dict(lr=0.1)), two_groups(torch, "SGD", dict(lr=0.1))
    mine = getattr(lr_scheduler, name)(ours, **options)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **options)
    for epoch in (5, 11, 3, 30):
        mine.step(epoch)
        reference.step(epoch)
        assert mine.get_last_lr() == pytest.approx(reference.get_last_lr(), rel=1e-12)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=3, min_lr=0.004),
    dict(mode="min", factor=0.5, patience=1, threshold=0.3, threshold_mode="abs",
         min_lr=[0.01, 0.0]),
    dict(mode="max", factor=0.2, patience=0, threshold_mode="abs", eps=0.05),
    dict(factor=0.7, patience=3, cooldown=2, threshold=0.01),
]


def plateau_metrics():
    rng = np.random.default_rng(0)
    # Improving, then flat with noise, then worse: every branch of the rule.
    values = list(np.linspace(1.0, 0.5, 10)) + list(0.5 + 0.02 * rng.standard_normal(30)) + \
        list(np.linspace(0.5, 1.0, 10))
    return [float(value) for value in values]


@pytest.mark.parametrize("options", PLATEAU, ids=str)
def test_reduce_on_plateau_matches_torch(options):
    ours, theirs = two_groups(cunn, "SGD", dict(lr=0.1)), two_groups(torch, "SGD", dict(lr=0.1))
    mine = lr_scheduler.ReduceLROnPlateau(ours, **options)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
    changes = 0
    for step, metric in enumerate(plateau_metrics()):
        if step == 23:
            saved = mine.state_dict()
            mine = lr_scheduler.ReduceLROnPlateau(ours, **options)
            mine.load_state_dict(saved)
        before = mine.get_last_lr()
        mine.step(metric)
        reference.step(metric)
        changes += mine.get_last_lr() != before
        assert mine.get_last_lr() == reference.get_last_lr(), step
        assert (mine.num_bad_epochs, mine.cooldown_counter, mine.best) == (
            reference.num_bad_epochs, reference.cooldown_counter, reference.best)
        assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]
    assert changes > 0  # the schedule really reduced the lr


def test_one_cycle_refuses_too_many_steps_and_bad_settings():
    optimizer = two_groups(cunn, "SGD", dict(lr=0.1, momentum=0.9))
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=3)
    scheduler.step()
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 4 times"):
        scheduler.step()
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=0.5)
    with pytest.raises(ValueError, match="OneCycleLR: max_lr must have one value per"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=[0.5], total_steps=5)
    with pytest.raises(ValueError, match="OneCycleLR: pct_start"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=5, pct_start=2.0)
    adadelta = optim.Adadelta([nn.Parameter(cunn.tensor(np.ones(2, np.float32)))])
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum"):
        lr_scheduler.OneCycleLR(adadelta, max_lr=0.5, total_steps=5)


def test_bad_arguments():
    optimizer = two_groups(cunn, "SGD", dict(lr=0.1))
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="lowest")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold_mode"):
        lr_scheduler.ReduceLROnPlateau(optimizer, threshold_mode="relative")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.5)
    with pytest.raises(ValueError, match="LambdaLR: lr_lambda must have one function"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0])
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be callable"):
        lr_scheduler.LambdaLR(optimizer, 0.5)
    with pytest.raises(ValueError, match="LinearLR: start_factor"):
        lr_scheduler.LinearLR(optimizer, start_factor=0.0)
    assert math.isclose(lr_scheduler.ExponentialLR(optimizer, 0.5).get_last_lr()[0], 0.1)


def test_lambda_state_dict_keeps_callable_objects_state():
    optimizer = two_groups(cunn, "SGD", dict(lr=0.1))
    warmup = Warmup(8)
    scheduler = lr_scheduler.LambdaLR(optimizer, warmup)
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"length": 8}, {"length": 8}]
    warmup.length = 3
    scheduler.load_state_dict(saved)
    assert warmup.length == 8
    plain = lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0).state_dict()
    assert plain["lr_lambdas"] == [None, None]
