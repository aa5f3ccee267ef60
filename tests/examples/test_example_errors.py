"""The examples fail early and cleanly: bad options and unusable paths end the run before
the first step with one line on stderr and exit status 2 (as argparse does), a failed
data lookup leaves no folders behind, and no progress bar goes to a file or pipe.
Runs on a tiny synthetic MNIST folder: no real data or network needed."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cunn
from cunn.data import mnist, write_idx

from python_process import _PACKAGE_PARENT

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = ["mnist_mlp", "mnist_mlp3", "mnist_cnn", "multitask"]


@pytest.fixture
def fake_mnist(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 70), ("test", 20)):
        image_name, label_name = mnist.SPLITS[split]
        write_idx(folder / image_name, rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / label_name, rng.integers(0, 10, count, dtype=np.uint8))
    return folder


def run(script, tmp_path, *options):
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
                   "CUNN_MNIST_MIRRORS": "http://127.0.0.1:9/mnist/", "COLUMNS": "200",
                   "PYTHONPATH": _PACKAGE_PARENT}
    environment.pop("CUNN_DATA", None)
    finished = subprocess.run([sys.executable, str(EXAMPLES / f"{script}.py"), *options],
                              capture_output=True, timeout=300, env=environment, cwd=tmp_path)
    # Decoded here, not with text=True, whose newline translation would hide "\r" frames.
    finished.stdout = finished.stdout.decode(errors="replace")
    finished.stderr = finished.stderr.decode(errors="replace")
    return finished


def assert_one_line_error(finished, *fragments):
    assert finished.returncode == 2, finished.stdout + finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0], \
        finished.stderr
    assert "Traceback" not in finished.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "epoch" not in finished.stdout  # nothing was trained


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_no_none_defaults(script, tmp_path):
    finished = run(script, tmp_path, "--help")
    assert finished.returncode == 0
    assert "(default: None)" not in finished.stdout
    for option in ("--threads THREADS ", "--lr LR "):
        entry = next(line for line in finished.stdout.splitlines()
                     if line.strip().startswith(option))
        assert entry.count("(default:") == 1, entry


@pytest.mark.parametrize("option", ["--save", "--log", "--plot"])
def test_outputs_into_a_missing_folder_stop_before_training(option, tmp_path, fake_mnist):
    target = tmp_path / "missing" / "out.file"
    finished = run("mnist_mlp", tmp_path, "--data", str(fake_mnist), "--epochs", "1",
                   option, str(target))
    assert_one_line_error(finished, f"{option} {target}", "does not exist")
    assert ".tmp" not in finished.stderr and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("options, fragment", [
    (("--lr", "-1"), "--lr must be a finite number >= 0, got -1.0"),
    (("--lr", "nan"), "--lr must be a finite number >= 0"),
    (("--threads", "0"), "--threads must be >= 1"),
    (("--batch-size", "0"), "--batch-size must be >= 1"),
    (("--max-steps", "0"), "--max-steps must be >= 1"),
    (("--resume", "no-such-checkpoint"), "--resume no-such-checkpoint: no such file"),
])
def test_bad_option_values_give_one_line(options, fragment, tmp_path, fake_mnist):
    finished = run("mnist_mlp", tmp_path, "--data", str(fake_mnist), *options)
    assert_one_line_error(finished, fragment)


def test_resuming_another_models_checkpoint_gives_one_line(tmp_path, fake_mnist):
    other = cunn.nn.Linear(3, 2)
    checkpoint = tmp_path / "other.ckpt"
    cunn.save({"model": other.state_dict(),
               "optimizer": cunn.optim.SGD(other.parameters(), lr=0.1).state_dict(),
               "epoch": 1, "history": "[]"}, checkpoint)
    finished = run("mnist_mlp", tmp_path, "--data", str(fake_mnist), "--resume", str(checkpoint))
    assert_one_line_error(finished, f"--resume {checkpoint}: cannot continue", "fc1.weight")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    finished = run("mnist_mlp", tmp_path, "--data", str(fake_mnist), "--resume", str(garbage))
    assert_one_line_error(finished, f"--resume {garbage}: cannot continue")


def test_no_progress_bar_frames_when_the_output_is_not_a_terminal(tmp_path, fake_mnist):
    finished = run("mnist_mlp", tmp_path, "--data", str(fake_mnist), "--epochs", "1",
                   "--batch-size", "8")
    assert finished.returncode == 0, finished.stderr
    assert "epoch   1" in finished.stdout
    assert "\r" not in finished.stdout + finished.stderr
    assert "batch/s" not in finished.stderr


def test_a_failed_lookup_leaves_no_folders(tmp_path):
    missing = tmp_path / "nonexistent" / "mnist"
    finished = run("mnist_mlp", tmp_path, "--data", str(missing))
    assert_one_line_error(finished, "could not download")
    assert not (tmp_path / "nonexistent").exists()
    finished = run("mnist_mlp", tmp_path)  # the default lookup: $CUNN_DATA, then the cache
    assert_one_line_error(finished, "could not download")
    assert not (tmp_path / "cache").exists()
