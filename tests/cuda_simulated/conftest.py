"""Every test here runs the cuda backend on SimulatedRuntime (runtime.py): a fresh one per
test, installed with use_runtime and taken out again afterwards, so no other test sees it."""
import pytest

from cunn._backends.cuda import runtime as cuda_runtime

from .runtime import SimulatedRuntime


@pytest.fixture(autouse=True)
def simulated_runtime():
    simulator = SimulatedRuntime()
    previous = cuda_runtime.use_runtime(simulator)
    try:
        yield simulator
    finally:
        cuda_runtime.use_runtime(previous)
