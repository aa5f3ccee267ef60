"""Every backend implements the whole kernel contract (cunn/_backends/interface.py)."""
import pytest

import cunn
from cunn._backends import get
from cunn._backends.interface import ALL_KERNELS, missing_kernels


@pytest.mark.parametrize("name", cunn.available_backends())
def test_backend_implements_every_kernel(name):
    assert missing_kernels(get(name)) == []


def test_compiled_backend_is_present():
    assert "cpu" in cunn.available_backends(), "the compiled backend must build and import"


def test_contract_lists_no_duplicates():
    assert len(set(ALL_KERNELS)) == len(ALL_KERNELS)


def test_unknown_backend_is_a_value_error():
    with pytest.raises(ValueError, match="unknown backend"):
        cunn.use_backend("tpu")


def test_backend_context_restores_previous():
    from cunn._backends import current

    outer = current()
    with cunn.backend("numpy") as inner:
        assert current() is inner
        assert inner.NAME == "numpy"
    assert current() is outer
