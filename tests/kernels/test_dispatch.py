"""Runtime CPU dispatch, the thread setting and the allocator tuning of the compiled module."""
import os
import platform

import pytest

from cunn import _C
from python_process import run_python


def test_environment_forces_the_portable_path():
    assert run_python("from cunn import _C; print(_C.isa())", CUNN_CPU_ISA="generic") == "generic"


def test_environment_cannot_select_an_unsupported_isa():
    best = _C.cpu_features()["best_isa"]
    order = ["generic", "avx2", "avx512"]
    chosen = run_python("from cunn import _C; print(_C.isa())", CUNN_CPU_ISA="avx512")
    assert order.index(chosen) <= order.index(best)


def test_isa_cap_round_trip():
    best = _C.cpu_features()["best_isa"]
    try:
        assert _C.set_isa_cap("generic") == "generic"
        assert _C.isa() == "generic"
    finally:
        assert _C.set_isa_cap("avx512") == best


def test_isa_cap_rejects_unknown_names():
    with pytest.raises(ValueError, match="set_isa_cap"):
        _C.set_isa_cap("sse9")


def test_default_threads_follow_omp_num_threads():
    if not _C.thread_pool_enabled():
        pytest.skip("built with CUNN_THREADS=OFF: the kernels are serial")
    assert run_python("from cunn import _C; print(_C.get_num_threads())",
                      OMP_NUM_THREADS="1") == "1"


def test_default_threads_follow_the_affinity_mask():
    if not _C.thread_pool_enabled():
        pytest.skip("built with CUNN_THREADS=OFF: the kernels are serial")
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no sched_setaffinity on this platform")
    code = ("import os; os.environ.pop('OMP_NUM_THREADS', None); "
            "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from cunn import _C; print(_C.get_num_threads())")
    assert run_python(code) == "1"


def test_thread_setting_round_trip_and_validation():
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        assert _C.get_num_threads() == 1
        _C.set_num_threads(3)
        assert _C.get_num_threads() == 3
        with pytest.raises(ValueError, match="threads must be >= 1"):
            _C.set_num_threads(0)
    finally:
        _C.set_num_threads(before)


def test_cpu_features_report_is_complete():
    report = _C.cpu_features()
    for key in ("avx2", "fma", "avx512f", "best_isa", "active_isa"):
        assert key in report


def test_allocator_tuning_is_on_by_default_and_can_be_switched_off(monkeypatch):
    for name in ("CUNN_MALLOC_DEFAULTS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    expected = "True" if platform.libc_ver()[0] == "glibc" else "False"
    assert run_python("from cunn import _C; print(_C.allocator_tuned())") == expected
    assert run_python("from cunn import _C; print(_C.allocator_tuned())",
                      CUNN_MALLOC_DEFAULTS="1") == "False"
    assert run_python("from cunn import _C; print(_C.allocator_tuned())",
                      MALLOC_TRIM_THRESHOLD_="131072") == "False"
