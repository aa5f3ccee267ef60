"""Fixtures shared by the compiled-kernel tests."""
import pytest

from cunn import _C


@pytest.fixture(params=[(1, "avx512"), (2, "avx512"), (1, "avx2"), (2, "generic")],
                ids=["1thread", "2threads", "avx2", "2threads-generic"])
def setting(request):
    """Runs the test with a thread count and an ISA cap (the best ISA the CPU has, at most
    the one named), restoring both afterwards."""
    threads, isa = request.param
    saved_threads, saved_isa = _C.get_num_threads(), _C.isa()
    _C.set_num_threads(threads)
    _C.set_isa_cap(isa)
    yield
    _C.set_num_threads(saved_threads)
    _C.set_isa_cap(saved_isa)
