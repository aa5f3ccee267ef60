"""The process group: which MPI communicator cunn's collectives use, and how a failing rank
ends the whole job.

An MPI job whose rank raises and exits normally leaves the other ranks blocked forever in
their next collective. ``init_process_group`` therefore installs an exception hook that prints
the traceback and calls ``MPI_Abort``: the launcher then stops every rank, and the job ends
with an error instead of a hang. A rank killed outright is noticed by the launcher itself.
"""
import sys

from cunn.distributed._mpi import mpi

__all__ = ["init_process_group", "is_initialized", "get_rank", "get_world_size",
           "destroy_process_group", "is_available"]

_state = {"comm": None, "previous_hook": None}


def is_available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def _abort_on_uncaught(kind, value, traceback):
    previous = _state["previous_hook"] or sys.__excepthook__
    previous(kind, value, traceback)
    comm = _state["comm"]
    if comm is not None and kind is not KeyboardInterrupt:
        rank = comm.Get_rank()
        print(f"cunn.distributed: rank {rank} failed ({kind.__name__}); aborting the job",
              file=sys.stderr, flush=True)
        comm.Abort(1)


def init_process_group(backend="mpi", init_method=None, world_size=-1, rank=-1, timeout=None,
                       group_name="", **unused):
    """Joins the MPI job this process was started in (``mpiexec -n N python train.py``).

    ``backend`` must be ``"mpi"``; ``world_size`` and ``rank``, when given, must match what
    the launcher assigned (MPI, not the script, decides them). ``init_method``, ``timeout``
    and ``group_name`` are accepted for PyTorch compatibility.
    """
    if not isinstance(backend, str) or backend.lower() != "mpi":
        raise ValueError(f"init_process_group: backend must be 'mpi' (cunn's only distributed "
                         f"backend), got {backend!r}")
    if _state["comm"] is not None:
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialised; call destroy_process_group() first")
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={given} but the MPI launcher "
                             f"assigned {actual}")
    _state["comm"] = comm
    if sys.excepthook is not _abort_on_uncaught:
        _state["previous_hook"] = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def is_initialized():
    return _state["comm"] is not None


def communicator():
    """The MPI communicator of the default group; RuntimeError before init_process_group."""
    comm = _state["comm"]
    if comm is None:
        raise RuntimeError("cunn.distributed: the default process group is not initialised; "
                           "call cunn.distributed.init_process_group('mpi') first")
    return comm


def get_rank():
    return communicator().Get_rank()


def get_world_size():
    return communicator().Get_size()


def destroy_process_group():
    """Leaves the group (MPI itself is finalised when the process exits)."""
    comm = _state["comm"]
    if comm is None:
        return
    _state["comm"] = None
    comm.Free()
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _state["previous_hook"] or sys.__excepthook__
    _state["previous_hook"] = None
