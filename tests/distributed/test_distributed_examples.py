"""The examples over MPI: two ranks train, rank 0 alone logs and saves, and its checkpoint
resumes in a single process. Needs the mpi extra and real MNIST (CUNN_DATA)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mpi_launch import mpiexec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MNIST = Path(os.environ.get("CUNN_DATA", "/nonexistent")) / "mnist"

pytestmark = [
    pytest.mark.mnist,
    pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte.gz").exists()
                       and not (MNIST / "train-images-idx3-ubyte").exists(),
                       reason="real MNIST not available: set CUNN_DATA to a folder holding "
                              "mnist/"),
]


def test_two_ranks_train_and_rank_zeros_checkpoint_resumes_in_one_process(tmp_path):
    log, checkpoint = tmp_path / "log.jsonl", tmp_path / "mlp.ckpt"
    command = [mpiexec(), "-n", "2", sys.executable, str(EXAMPLES / "mnist_mlp.py"),
               "--distributed", "--threads", "1", "--epochs", "1", "--max-steps", "150",
               "--data", str(MNIST), "--log", str(log), "--save", str(checkpoint)]
    trained = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert trained.stdout.count("epoch   1") == 1, "only rank 0 prints"
    assert "x 2 processes" in trained.stdout
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 1 and records[0]["test_accuracy"] > 90.0

    resumed = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--no-progress", "--epochs", "1",
         "--max-steps", "20", "--data", str(MNIST), "--resume", str(checkpoint),
         "--log", str(log)],
        capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed from" in resumed.stdout and "after epoch 1" in resumed.stdout
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [record["epoch"] for record in records] == [1, 2]
    assert records[1]["test_accuracy"] > 90.0
