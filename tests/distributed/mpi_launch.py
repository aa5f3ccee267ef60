"""Starting a script under ``mpiexec -n N`` for the tests, with a timeout so that a hang
fails the test instead of the test run."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]


def mpiexec():
    """The launcher that came with the MPI mpi4py uses; skips without the ``mpi`` extra."""
    pytest.importorskip("mpi4py", reason='needs the mpi extra: pip install "cunn[mpi]"')
    beside_python = Path(sys.executable).parent / "mpiexec"
    launcher = str(beside_python) if beside_python.exists() else shutil.which("mpiexec")
    if launcher is None:
        pytest.skip("no mpiexec found (the mpi extra installs one beside python)")
    return launcher


def run(script, *arguments, ranks=2, timeout=120):
    """Runs tests/distributed/``script`` on ``ranks`` processes; returns the CompletedProcess."""
    environment = dict(os.environ, OMP_NUM_THREADS="1",
                       PYTHONPATH=os.pathsep.join(filter(None, [
                           str(HERE), os.environ.get("PYTHONPATH", "")])))
    command = [mpiexec(), "-n", str(ranks), sys.executable, str(HERE / script),
               *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=str(REPOSITORY))
