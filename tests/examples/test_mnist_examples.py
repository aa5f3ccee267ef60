"""The example scripts train on real MNIST (skipped when the files are not available).

Each script runs in a subprocess exactly as a user runs it, with --max-steps to keep
the run short; the per-epoch JSON log is what the assertions read.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cunn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _mnist_folder():
    root = os.environ.get("CUNN_DATA")
    if not root:
        return None
    folder = Path(root) / "mnist"
    present = all((folder / name).exists() or (folder / (name + ".gz")).exists()
                  for name in MNIST_FILES)
    return folder if present else None


pytestmark = [
    pytest.mark.mnist,
    pytest.mark.slow,  # each trains a model: `pytest -m "not slow"` leaves them out
    pytest.mark.skipif(_mnist_folder() is None,
                       reason="real MNIST not available: set CUNN_DATA to a folder holding "
                              "mnist/ with the four IDX files"),
]


def run_example(script, tmp_path, *options):
    log = tmp_path / f"{script}.jsonl"
    if log.exists():
        log.unlink()
    command = [sys.executable, str(EXAMPLES / f"{script}.py"), "--no-progress",
               "--data", str(_mnist_folder()), "--log", str(log), *options]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return [json.loads(line) for line in log.read_text().splitlines()], finished.stdout


def load_example(script):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(script, EXAMPLES / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_mlp_reaches_93_percent_within_half_an_epoch(tmp_path):
    history, output = run_example("mnist_mlp", tmp_path, "--epochs", "1", "--max-steps", "470")
    assert history[0]["test_accuracy"] >= 93.0, output
    assert "epoch   1" in output


def test_cnn_learns_in_a_few_hundred_steps(tmp_path):
    history, output = run_example("mnist_cnn", tmp_path, "--epochs", "2", "--max-steps", "150")
    assert history[1]["train_loss"] < history[0]["train_loss"] < 1.0, output
    assert history[1]["test_accuracy"] > 90.0, output


def test_multitask_reports_both_heads(tmp_path):
    history, output = run_example("multitask", tmp_path, "--epochs", "1", "--max-steps", "300")
    assert history[0]["digit_accuracy"] > 88.0, output
    assert history[0]["parity_accuracy"] > 90.0, output


def test_saved_model_loads_with_the_same_predictions(tmp_path):
    checkpoint = tmp_path / "mlp.ckpt"
    history, _ = run_example("mnist_mlp", tmp_path, "--epochs", "1", "--max-steps", "100",
                             "--save", str(checkpoint))
    assert checkpoint.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(checkpoint.name + ".")]
    model = load_example("mnist_mlp").MLP()
    model.load_state_dict(cunn.load(str(checkpoint))["model"])
    model.eval()
    (_, _), (x_test, y_test) = cunn.data.mnist.load(root=str(_mnist_folder()), download=False)
    images = (x_test.astype(np.float32) / 255 - 0.1307) / 0.3081
    with cunn.no_grad():
        predicted = np.asarray(model(images.reshape(-1, 784))).argmax(axis=1)
    accuracy = 100.0 * float((predicted == y_test).mean())
    assert accuracy == pytest.approx(history[0]["test_accuracy"], abs=1e-9)


def test_resume_continues_the_loss_curve(tmp_path):
    checkpoint = tmp_path / "resume.ckpt"
    first, _ = run_example("mnist_mlp", tmp_path, "--epochs", "1", "--max-steps", "150",
                           "--save", str(checkpoint))
    resumed, output = run_example("mnist_mlp", tmp_path, "--epochs", "1", "--max-steps", "150",
                                  "--resume", str(checkpoint))
    assert "resumed from" in output
    assert resumed[-1]["epoch"] == 2
    # A continued run starts from the trained weights and optimizer state, so its
    # loss is far below a fresh first epoch's.
    assert resumed[-1]["train_loss"] < 0.8 * first[0]["train_loss"]
