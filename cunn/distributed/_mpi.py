"""The one place that imports mpi4py, so ``import cunn`` never does and a missing extra
fails with an ImportError that says what to install."""

INSTALL_HINT = ('cunn.distributed needs MPI through mpi4py: pip install "cunn[mpi]" '
                "(mpi4py and MPICH wheels), or mpi4py built against your system MPI")


def mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI)."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} ({error})") from error
    return MPI
