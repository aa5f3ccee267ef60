"""Fixtures of the CUDA kernel tests: `cuda_runtime` is cunn._C.cuda on a machine with a GPU
(tests against it skip otherwise, saying why)."""
import pytest

from cunn import _C


@pytest.fixture
def cuda_runtime():
    if not _C.cuda_built():
        pytest.skip("cunn was built without CUDA (build with -Ccmake.define.CUNN_CUDA=ON)")
    if _C.cuda_device_count() == 0:
        pytest.skip("no CUDA device is visible")
    return _C.cuda
