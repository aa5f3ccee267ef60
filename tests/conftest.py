import os

import pytest


def pytest_configure(config):
    # Tests must exercise the compiled kernels: if the extension did not build
    # (or the source tree shadows the installed package), stop instead of
    # silently testing only the NumPy reference.
    import cunn

    if "cpu" not in cunn.available_backends() and not os.environ.get("CUNN_ALLOW_NO_COMPILED"):
        pytest.exit(
            f"cunn's compiled backend is not importable (cunn loaded from {cunn.__file__}). "
            "Install the package (pip install '.[test]') or build in place "
            "(tools/build_inplace.sh) before running the tests.",
            returncode=2,
        )
