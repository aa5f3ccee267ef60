"""Data-parallel training over MPI: ``mpiexec -n N python train.py``.

PyTorch's ``torch.distributed`` surface on mpi4py (the ``mpi`` extra): a process group,
in-place collectives on Tensors, and a failing rank that ends the job instead of hanging it.
``nn.parallel.DistributedDataParallel`` and ``data.DistributedSampler`` build on it. Nothing
here imports mpi4py until a function needs it.
"""
from cunn.distributed.collectives import ReduceOp, all_gather, all_reduce, barrier, broadcast
from cunn.distributed.process_group import (
    destroy_process_group, get_rank, get_world_size, init_process_group, is_available,
    is_initialized)

__all__ = ["ReduceOp", "all_gather", "all_reduce", "barrier", "broadcast",
           "destroy_process_group", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_initialized"]
