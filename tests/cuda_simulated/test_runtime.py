"""The runtime switch: the installed simulator, and the RuntimeError that says why when
neither a simulator nor a usable CUDA build is there."""
import numpy as np
import pytest

from cunn import _C
from cunn._backends.cuda import runtime as cuda_runtime
from cunn._backends.cuda.array import empty, to_device

from .runtime import SimulatedRuntime

GPU_HERE = _C.cuda_built() and _C.cuda_device_count() > 0


def test_the_installed_runtime_serves_allocations(simulated_runtime):
    assert cuda_runtime.runtime() is simulated_runtime
    assert cuda_runtime.is_available()
    array = empty((3, 4))
    assert array.runtime is simulated_runtime
    assert simulated_runtime.memory_stats()["allocated_bytes"] == 512


def test_use_runtime_returns_the_previous_one(simulated_runtime):
    other = SimulatedRuntime()
    assert cuda_runtime.use_runtime(other) is simulated_runtime
    try:
        assert cuda_runtime.runtime() is other
    finally:
        assert cuda_runtime.use_runtime(simulated_runtime) is other


def test_a_block_goes_back_to_the_runtime_that_allocated_it(simulated_runtime):
    array = to_device(np.arange(6, dtype=np.float32))
    other = SimulatedRuntime()
    previous = cuda_runtime.use_runtime(other)
    try:
        np.testing.assert_array_equal(array.get(), np.arange(6))
        del array
        assert simulated_runtime.memory_stats()["allocated_bytes"] == 0
        assert simulated_runtime.memory_stats()["reserved_bytes"] == 512
    finally:
        cuda_runtime.use_runtime(previous)


@pytest.mark.skipif(GPU_HERE, reason="this machine has a usable CUDA build and GPU")
def test_without_cuda_every_use_is_a_runtime_error_saying_why(simulated_runtime):
    cuda_runtime.use_runtime(None)
    try:
        assert not cuda_runtime.is_available()
        reason = "built without CUDA" if not _C.cuda_built() else "no GPU"
        with pytest.raises(RuntimeError, match=f"CUDA is not available: .*{reason}"):
            cuda_runtime.runtime()
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            to_device(np.zeros(3, np.float32))
    finally:
        cuda_runtime.use_runtime(simulated_runtime)
