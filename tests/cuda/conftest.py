"""The CUDA kernel tests run only where cunn was built with CUDA and a GPU is visible.

Tests take the runtime from the ``cuda_runtime`` fixture, never from ``cunn._C`` directly,
so the same tests run against anything with the functions of ``cunn._C.cuda``: set
CUNN_CUDA_TEST_RUNTIME to ``simulated`` for the NumPy simulator (tests/cuda_simulated; it
checks the tests against the spec, nothing about the kernels), or to a module's import name,
e.g. the CPU emulation of the kernels themselves built by tools/cuda_emulator/build.sh.
"""
import importlib
import os

import pytest


@pytest.fixture(scope="session")
def cuda_runtime():
    """``cunn._C.cuda``; skips the test, saying why, when it cannot run here."""
    substitute = os.environ.get("CUNN_CUDA_TEST_RUNTIME")
    if substitute == "simulated":
        from cuda_simulated.runtime import SimulatedRuntime
        return SimulatedRuntime()
    if substitute:
        return importlib.import_module(substitute)
    from cunn import _C

    if not _C.cuda_built():
        pytest.skip("cunn was built without CUDA (build with -Ccmake.define.CUNN_CUDA=ON)")
    if _C.cuda.device_count() == 0:
        pytest.skip("cunn was built with CUDA but no CUDA device is visible")
    return _C.cuda
