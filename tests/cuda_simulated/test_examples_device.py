"""The example scripts with --device cuda on the simulated GPU: each runs in a subprocess as a
user runs it (the simulator installed first), on a small generated dataset in MNIST's file
layout, and its first epoch's loss matches the same run with --device cpu."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cunn.data import write_idx

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"

# Installs the simulator in the example's own process, then runs the script as __main__.
BOOTSTRAP = """
import importlib.util, runpy, sys
# `python -c` puts the working folder first on the path: a source checkout there would
# shadow the installed package (as a script run does not), so it goes.
if sys.path and sys.path[0] == "":
    del sys.path[0]
spec = importlib.util.spec_from_file_location("simulated_runtime", {runtime!r})
simulator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(simulator)
from cunn._backends.cuda import runtime
runtime.use_runtime(simulator.SimulatedRuntime())
sys.path.insert(0, {examples!r})
sys.argv = {argv!r}
runpy.run_path({script!r}, run_name="__main__")
"""


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    """MNIST's four IDX files with 256 training and 100 test images (digit-like blobs)."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    templates = rng.random((10, 28, 28)) > 0.6
    for prefix, count in (("train", 256), ("t10k", 100)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = np.clip(templates[labels] * 200 + rng.normal(0, 40, (count, 28, 28)), 0, 255)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images.astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def run_example(script, folder, tmp_path, device):
    log = tmp_path / f"{script}-{device}.jsonl"
    argv = [script, "--no-progress", "--data", str(folder), "--epochs", "1", "--max-steps",
            "3", "--batch-size", "32", "--device", device, "--log", str(log)]
    code = BOOTSTRAP.format(runtime=str(HERE / "runtime.py"), examples=str(EXAMPLES),
                            argv=argv, script=str(EXAMPLES / f"{script}.py"))
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"device: {device}" in finished.stdout
    return json.loads(log.read_text().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("script", ["mnist_mlp", "mnist_cnn", "mnist_mlp3", "fashion_lenet",
                                    "multitask"])
def test_example_trains_on_the_simulated_gpu_as_on_the_cpu(script, small_mnist, tmp_path):
    on_gpu = run_example(script, small_mnist, tmp_path, "cuda")
    on_cpu = run_example(script, small_mnist, tmp_path, "cpu")
    assert np.isfinite(on_gpu["train_loss"])
    np.testing.assert_allclose(on_gpu["train_loss"], on_cpu["train_loss"], rtol=1e-4)
    for key, value in on_cpu.items():
        if key.endswith("accuracy"):
            assert abs(on_gpu[key] - value) <= 1.0, (key, on_gpu, on_cpu)
