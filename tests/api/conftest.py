"""Fixtures shared by the API tests."""
import pytest

import cunn

BACKENDS = [name for name in cunn.available_backends() if name in ("cpu", "numpy")]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs the test once on each backend, made current for its duration."""
    with cunn.backend(request.param):
        yield request.param
