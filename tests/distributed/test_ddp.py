"""DistributedDataParallel over MPI: two ranks with half a batch each take exactly the step
one process takes on the whole batch."""
import numpy as np
import pytest

import cunn

import models
from mpi_launch import run


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("optimizer_kind", ["sgd", "adam"])
def test_two_ranks_match_one_process_on_the_whole_batch(tmp_path, kind, optimizer_kind):
    out = tmp_path / "ranks.npz"
    result = run("ddp_steps.py", kind, optimizer_kind, 1, out)
    assert result.returncode == 0, result.stderr
    distributed = np.load(out)

    model = models.build(kind)
    opt = models.optimizer(optimizer_kind, model)
    images, labels = models.batch()
    models.train(model, opt, images, labels, 1)
    reference = {name: np.asarray(p) for name, p in model.state_dict().items()}
    gradients = {name: np.asarray(p.grad) for name, p in model.named_parameters()}
    initial = {name: np.asarray(p) for name, p in models.build(kind).state_dict().items()}

    assert sorted(distributed.files) == sorted(reference) + sorted(f"grad:{n}" for n in gradients)
    for name, expected in gradients.items():
        scale = np.abs(expected).max()
        np.testing.assert_allclose(distributed[f"grad:{name}"], expected, rtol=1e-5,
                                   atol=1e-6 * scale, err_msg=f"gradient of {name}")
    for name, expected in reference.items():
        assert not np.allclose(expected, initial[name]), f"{name} did not train"
        if optimizer_kind == "adam":
            # Adam's first step is lr * g / (|g| + eps): where |g| is near eps, a gradient
            # difference at float32 rounding (checked above) moves it by up to a few % of lr.
            well_conditioned = np.abs(gradients[name]) > 1e-5
            np.testing.assert_allclose(distributed[name][well_conditioned],
                                       expected[well_conditioned], rtol=2e-5, atol=2e-6,
                                       err_msg=name)
            np.testing.assert_allclose(distributed[name], expected, atol=0.05 * 1e-2,
                                       err_msg=name)
        else:
            np.testing.assert_allclose(distributed[name], expected, rtol=2e-5, atol=2e-6,
                                       err_msg=name)
