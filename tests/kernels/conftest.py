"""The thread and ISA settings every compiled-kernel test runs under, defined once here.

``threads`` runs a test with 1 and 2 threads, ``isa`` under each instruction-set cap the
CPU can run (skipping the others), ``setting`` under four combinations of both for tests
that vary neither on purpose. Each restores what it changed.
"""
import pytest

from cunn import _C


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    saved = _C.get_num_threads()
    _C.set_num_threads(request.param)
    yield request.param
    _C.set_num_threads(saved)


@pytest.fixture(params=["avx512", "avx2", "generic"])
def isa(request):
    saved = _C.isa()
    if _C.set_isa_cap(request.param) != request.param:
        _C.set_isa_cap(saved)
        pytest.skip(f"this CPU cannot run {request.param}")
    yield request.param
    _C.set_isa_cap(saved)


@pytest.fixture(params=[(1, "avx512"), (2, "avx512"), (1, "avx2"), (2, "generic")],
                ids=["1thread", "2threads", "avx2", "2threads-generic"])
def setting(request):
    """A thread count and an ISA cap (the best ISA the CPU has, at most the one named)."""
    threads, isa = request.param
    saved_threads, saved_isa = _C.get_num_threads(), _C.isa()
    _C.set_num_threads(threads)
    _C.set_isa_cap(isa)
    yield
    _C.set_num_threads(saved_threads)
    _C.set_isa_cap(saved_isa)
