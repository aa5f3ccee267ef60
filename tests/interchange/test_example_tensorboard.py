"""The examples' --tensorboard DIR: the per-epoch metrics of the JSON log, as TensorBoard
reads them (a small synthetic MNIST folder, so no real data is needed)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cunn.data import mnist, write_idx
from interchange.subprocess_env import child_environment

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard extra (writer and reader) is not installed")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def synthetic_mnist(folder, train=40, test=10):
    rng = np.random.default_rng(0)
    os.makedirs(folder)
    for split, count in (("train", train), ("test", test)):
        image_name, label_name = mnist.SPLITS[split]
        write_idx(os.path.join(folder, image_name), rng.integers(0, 256, (count, 28, 28),
                                                                  dtype=np.uint8))
        write_idx(os.path.join(folder, label_name), rng.integers(0, 10, count, dtype=np.uint8))


def test_mlp_example_logs_its_epochs_to_tensorboard(tmp_path):
    synthetic_mnist(tmp_path / "mnist")
    log, board = tmp_path / "log.jsonl", tmp_path / "board"
    command = [sys.executable, str(EXAMPLES / "mnist_mlp3.py"), "--no-progress", "--epochs", "2",
               "--batch-size", "2", "--data", str(tmp_path / "mnist"), "--log", str(log),
               "--tensorboard", str(board)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600,
                              env=child_environment())
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"tensorboard --logdir {board}" in finished.stdout
    records = [json.loads(line) for line in log.read_text().splitlines()]
    events = event_accumulator.EventAccumulator(str(board))
    events.Reload()
    for key in ("train_loss", "test_accuracy", "seconds"):
        logged = [(event.step, event.value) for event in events.Scalars(f"epoch/{key}")]
        assert [step for step, _ in logged] == [1, 2]
        np.testing.assert_allclose([value for _, value in logged],
                                   [record[key] for record in records], rtol=1e-6)
    # 20 batches per epoch: one batch-loss point each, at the 20th batch.
    assert [event.step for event in events.Scalars("train/batch_loss")] == [19, 39]
