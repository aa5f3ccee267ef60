"""Where CUDA is absent (no CUDA build, or no GPU), asking for it raises a RuntimeError that
says why and how to fix it, and nothing else changes: cunn.cuda answers, devices can still
be named, "cuda" is not a backend. Skipped on a machine where CUDA works."""
import subprocess
import sys
from pathlib import Path

import pytest

import cunn
import cunn.nn as nn
from cunn import _C

pytestmark = pytest.mark.skipif("cunn.cuda.is_available()", reason="CUDA is available here")

# The reason names the fix: a build flag when CUDA was not built, the GPU when none is seen.
WHY = "CUDA is not available: .*(CUNN_CUDA=ON|no GPU)"
if not _C.cuda_built():
    WHY = "CUDA is not available: cunn was built without CUDA.*CUNN_CUDA=ON"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_cunn_cuda_answers_without_raising():
    assert cunn.cuda.is_available() is False and cunn.cuda.device_count() == 0
    assert "cuda" not in cunn.available_backends()
    assert str(cunn.device("cuda:1")) == "cuda:1"  # naming a device always works


@pytest.mark.parametrize("call", [
    lambda: cunn.ones(2).to("cuda"),
    lambda: cunn.ones(2).to(cunn.device("cuda", 0)),
    lambda: cunn.ones(2).cuda(),
    lambda: cunn.zeros(2, device="cuda"),
    lambda: cunn.tensor([1.0], device="cuda:0"),
    lambda: cunn.randn(3, device="cuda"),
    lambda: cunn.zeros_like(cunn.ones(2), device="cuda"),
    lambda: nn.Linear(2, 2).to("cuda"),
    lambda: nn.Linear(2, 2).cuda(),
    lambda: cunn.use_backend("cuda"),
    lambda: cunn.cuda.synchronize(),
    lambda: cunn.cuda.current_device(),
    lambda: cunn.cuda.get_device_name(),
    lambda: cunn.cuda.memory_allocated(),
    lambda: cunn.cuda.empty_cache(),
])
def test_asking_for_cuda_is_a_runtime_error_saying_why(call):
    with pytest.raises(RuntimeError, match=WHY):
        call()


@pytest.mark.parametrize("name", ["synchronize", "current_device", "get_device_name",
                                  "memory_stats", "empty_cache"])
def test_cunn_cuda_errors_name_the_function(name):
    with pytest.raises(RuntimeError, match=f"^{name}: .*CUDA is not available"):
        getattr(cunn.cuda, name)()


def test_the_backend_and_the_tensors_are_untouched_by_a_refusal():
    before = cunn.current_backend()
    with pytest.raises(RuntimeError, match=WHY):
        with cunn.backend("cuda"):
            pass
    assert cunn.current_backend() == before and not cunn.zeros(1).is_cuda
    model = nn.Linear(2, 2)
    weight = model.weight
    with pytest.raises(RuntimeError):
        model.cuda()
    assert model.weight is weight and weight.device == cunn.device("cpu")


def test_load_with_map_location_cuda(tmp_path):
    cunn.save({"w": cunn.ones(2)}, tmp_path / "w")
    with pytest.raises(RuntimeError, match="load: cannot use device 'cuda'"):
        cunn.load(tmp_path / "w", map_location="cuda")
    assert cunn.load(tmp_path / "w", map_location={"cuda:0": "cpu"})["w"].tolist() == [1, 1]


def test_example_with_device_cuda_stops_with_one_line(tmp_path):
    finished = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--device", "cuda", "--data",
         str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "mnist_mlp.py: error: --device cuda:" in lines[0]
    assert "CUDA is not available" in lines[0]
