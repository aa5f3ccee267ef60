"""examples/fashion_lenet.py trains LeNet with batch norm on Fashion-MNIST to real accuracy
(skipped when the dataset is not installed: apt-get install dataset-fashion-mnist).

The script runs in a subprocess as a user runs it, for 150 batches of 256 (under an epoch);
after that PyTorch's twin (benchmarks/fashion_lenet_torch.py) is at about 77-80% test
accuracy, so 70% is far above chance (10%) and above what a broken batch norm reaches.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FOLDERS = [Path("/usr/share/datasets/fashion-mnist"),
           Path(os.environ.get("CUNN_DATA", "/nonexistent")) / "fashion-mnist"]
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def _fashion_folder():
    for folder in FOLDERS:
        if all((folder / name).exists() or (folder / (name + ".gz")).exists()
               for name in FILES):
            return folder
    return None


@pytest.mark.slow
@pytest.mark.skipif(_fashion_folder() is None,
                    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, "
                           "or $CUNN_DATA/fashion-mnist with the four IDX files)")
def test_fashion_lenet_trains_to_real_accuracy(tmp_path):
    log = tmp_path / "log.jsonl"
    command = [sys.executable, str(EXAMPLES / "fashion_lenet.py"), "--no-progress", "--epochs",
               "1", "--max-steps", "150", "--threads", "1", "--data", str(_fashion_folder()),
               "--log", str(log), "--save", str(tmp_path / "lenet.ckpt")]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["test_accuracy"] > 70.0, record
    assert "BatchNorm2d(6, eps=1e-05, momentum=0.1" in finished.stdout
    # The checkpoint holds the running statistics under PyTorch's names.
    import cunn

    state = cunn.load(str(tmp_path / "lenet.ckpt"))["model"]
    assert int(state["1.num_batches_tracked"]) == 150
    assert "13.running_var" in state
