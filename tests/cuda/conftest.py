"""The CUDA kernel tests run only where cunn was built with CUDA and a GPU is visible.

Tests take the runtime from the ``cuda_runtime`` fixture, never from ``cunn._C`` directly,
so the same tests can run against any object with the functions of ``cunn._C.cuda``.
"""
import os

import pytest


@pytest.fixture(scope="session")
def cuda_runtime():
    """``cunn._C.cuda``; skips the test, saying why, when it cannot run here.
    ``CUNN_CUDA_SIMULATE=1`` gives the NumPy simulator of the same functions instead, which
    checks the tests against the spec where no GPU exists (it proves nothing about the GPU)."""
    if os.environ.get("CUNN_CUDA_SIMULATE") == "1":
        from cuda_simulated.runtime import SimulatedRuntime
        return SimulatedRuntime()
    from cunn import _C

    if not _C.cuda_built():
        pytest.skip("cunn was built without CUDA (build with -Ccmake.define.CUNN_CUDA=ON)")
    if _C.cuda.device_count() == 0:
        pytest.skip("cunn was built with CUDA but no CUDA device is visible")
    return _C.cuda
