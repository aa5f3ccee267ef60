"""Every example script documents the common options (no data needed)."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script", ["mnist_mlp", "mnist_mlp3", "mnist_cnn", "multitask",
                                    "fashion_lenet"])
def test_every_example_has_help(script):
    finished = subprocess.run([sys.executable, str(EXAMPLES / f"{script}.py"), "--help"],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0
    for option in ("--epochs", "--batch-size", "--lr", "--data", "--backend", "--threads",
                   "--seed", "--save", "--resume", "--log", "--plot"):
        assert option in finished.stdout
