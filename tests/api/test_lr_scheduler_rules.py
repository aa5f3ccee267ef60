"""The schedulers' rules without torch: the recursive step() sequence equals the closed
form (what step(epoch) jumps to) over 40 steps, OneCycleLR's documented end points and
momentum cycle, and ReduceLROnPlateau's patience / cooldown / threshold by hand.
(tests/api/test_lr_scheduler_torch.py compares with PyTorch itself when installed.)"""
import math
import warnings

import numpy as np
import pytest

import cunn
from cunn import nn, optim
from cunn.optim import lr_scheduler


def sgd(lr=0.1, momentum=0.0):
    return optim.SGD([nn.Parameter(cunn.tensor(np.ones(2, np.float32)))], lr=lr,
                     momentum=momentum)


@pytest.mark.parametrize("name,options", [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 9, 9, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=12)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch))),
], ids=lambda v: str(v)[:30])
def test_recursive_sequence_equals_closed_form(name, options):
    optimizer = sgd()
    scheduler = getattr(lr_scheduler, name)(optimizer, **options)
    closed = getattr(lr_scheduler, name)(sgd(), **options)
    for epoch in range(1, 40):
        scheduler.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            closed.step(epoch)
        assert scheduler.get_last_lr()[0] == pytest.approx(closed.get_last_lr()[0],
                                                           rel=1e-9, abs=1e-12), epoch
        assert optimizer.param_groups[0]["lr"] == scheduler.get_last_lr()[0]


def test_multistep_and_exponential_values():
    optimizer = sgd(1.0)
    scheduler = lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4, 4], gamma=0.5)
    values = [scheduler.get_last_lr()[0]]
    for _ in range(5):
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    assert values == [1.0, 1.0, 0.5, 0.5, 0.125, 0.125]
    scheduler = lr_scheduler.ExponentialLR(sgd(1.0), gamma=0.5)
    scheduler.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [0.25]


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_end_points_and_momentum(three_phase):
    optimizer = sgd(momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=100,
                                        three_phase=three_phase)
    lrs, momenta = [scheduler.get_last_lr()[0]], [optimizer.param_groups[0]["momentum"]]
    for _ in range(99):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(optimizer.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(1.0 / 25) and momenta[0] == pytest.approx(0.95)
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(1.0) and peak == 29
    assert momenta[peak] == pytest.approx(0.85)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert momenta[-1] == pytest.approx(0.95)
    if three_phase:
        assert lrs[58] == pytest.approx(1.0 / 25)  # back to the initial lr before annealing


def test_reduce_on_plateau_by_hand():
    optimizer = sgd(1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=2, cooldown=1, factor=0.5,
                                               threshold=0.1, threshold_mode="abs",
                                               min_lr=0.2)
    # 1.0 best; 0.95 is not better by 0.1 (bad 1), 0.92 (bad 2), 0.93 (bad 3 > 2: reduce,
    # cooldown 1); 0.99 in cooldown (ignored); 0.98, 0.97, 0.96 bad 1..3: reduce to 0.25;
    # later reductions stop at min_lr 0.2.
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]
    metrics = [1.0, 0.95, 0.92, 0.93, 0.99, 0.98, 0.97, 0.96, 0.96, 0.96, 0.96, 0.96, 0.96]
    seen = []
    for metric in metrics:
        scheduler.step(metric)
        seen.append(scheduler.get_last_lr()[0])
    assert seen == expected
    restored = lr_scheduler.ReduceLROnPlateau(sgd(), mode="max")
    restored.load_state_dict(scheduler.state_dict())
    assert (restored.mode, restored.best, restored.cooldown_counter) == (
        "min", scheduler.best, scheduler.cooldown_counter)
    assert math.isinf(lr_scheduler.ReduceLROnPlateau(sgd(), mode="max").best)
