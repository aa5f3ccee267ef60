"""Collectives, no_sync and failure handling of cunn.distributed, each through mpiexec."""
import subprocess
import sys

import pytest

from mpi_launch import run


def test_collectives_and_no_sync_on_two_ranks():
    result = run("collectives.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rank 0 OK" in result.stdout and "rank 1 OK" in result.stdout


@pytest.mark.parametrize("case", ["mismatch", "exception", "killed"])
def test_a_failing_or_disagreeing_rank_ends_the_job(case):
    # run() raises TimeoutExpired (a test failure) if the job hangs.
    result = run("failures.py", case, timeout=60)
    assert result.returncode != 0
    assert "was not stopped" not in result.stdout
    if case == "mismatch":
        assert "ranks built different models" in result.stderr
        assert "'weight' float32(5, 4) where rank 0 has 'weight' float32(3, 4)" in result.stderr
    if case == "exception":
        assert "rank 1 fails on purpose" in result.stderr


def test_import_cunn_does_not_import_mpi4py_and_a_missing_extra_names_it():
    code = ("import sys; sys.modules['mpi4py'] = None; import cunn, cunn.distributed as d; "
            "import cunn.nn.parallel; assert 'mpi4py.MPI' not in sys.modules\n"
            "try:\n    d.init_process_group('mpi')\nexcept ImportError as e:\n    print(e)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'pip install "cunn[mpi]"' in result.stdout


def test_only_the_mpi_backend_is_accepted():
    import cunn.distributed as dist
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="not initialised"):
        dist.get_rank()
