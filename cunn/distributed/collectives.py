"""Collectives on Tensors and NumPy arrays, in place as in PyTorch.

Each one hands MPI the tensor's own buffer (no copy for contiguous data): ``all_reduce`` and
``broadcast`` overwrite it on every rank, ``all_gather`` fills a list of tensors.
"""
import enum

import numpy as np

from cunn.distributed._mpi import mpi
from cunn.distributed.process_group import communicator

__all__ = ["ReduceOp", "all_reduce", "broadcast", "all_gather", "barrier"]


class ReduceOp(enum.Enum):
    SUM = "SUM"
    PRODUCT = "PROD"
    MIN = "MIN"
    MAX = "MAX"
    AVG = "AVG"


def _buffer(tensor, name, op):
    """The ndarray behind ``tensor``, which MPI reads and writes in place."""
    array = getattr(tensor, "_data", tensor)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{op}: {name} must be a cunn.Tensor or a NumPy array, got "
                        f"{type(tensor).__name__}")
    if not (array.flags.c_contiguous and array.flags.writeable):
        raise ValueError(f"{op}: {name} must be contiguous and writeable (its data is "
                         "overwritten in place)")
    return array


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combines ``tensor`` across ranks with ``op`` and leaves the result in it on every rank."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a cunn.distributed.ReduceOp, got {op!r}")
    array = _buffer(tensor, "tensor", "all_reduce")
    comm = communicator()
    MPI = mpi()
    if op is ReduceOp.AVG:
        comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        np.divide(array, comm.Get_size(), out=array, casting="unsafe")
    else:
        comm.Allreduce(MPI.IN_PLACE, array, op=getattr(MPI, op.value))


def broadcast(tensor, src, group=None, async_op=False):
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    array = _buffer(tensor, "tensor", "broadcast")
    comm = communicator()
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) \
            or not 0 <= src < comm.Get_size():
        raise ValueError(f"broadcast: src must be a rank in [0, {comm.Get_size()}), got {src!r}")
    comm.Bcast(array, root=int(src))


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fills ``tensor_list[r]`` with rank ``r``'s ``tensor`` (same shape and dtype everywhere)."""
    comm = communicator()
    size = comm.Get_size()
    if not isinstance(tensor_list, list) or len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list must be a list of {size} tensors (one per "
                         f"rank), got {type(tensor_list).__name__} of length "
                         f"{len(tensor_list) if hasattr(tensor_list, '__len__') else '?'}")
    source = np.ascontiguousarray(getattr(tensor, "_data", tensor))
    targets = [_buffer(item, f"tensor_list[{index}]", "all_gather")
               for index, item in enumerate(tensor_list)]
    for index, target in enumerate(targets):
        if target.shape != source.shape or target.dtype != source.dtype:
            raise ValueError(f"all_gather: tensor_list[{index}] is {target.dtype}{target.shape}, "
                             f"tensor is {source.dtype}{source.shape}")
    gathered = np.empty((size,) + source.shape, dtype=source.dtype)
    comm.Allgather(source, gathered)
    for target, part in zip(targets, gathered):
        target[...] = part


def barrier(group=None, async_op=False):
    """Returns once every rank has called it."""
    communicator().Barrier()
