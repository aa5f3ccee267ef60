"""Run under ``mpiexec -n 2`` with a CASE: a rank that fails or disagrees must end the job.

mismatch: rank 1 builds a wider model than rank 0.
exception: rank 1 raises while rank 0 waits in a collective.
killed: rank 1 dies at once (SIGKILL) while rank 0 waits in a collective."""
import os
import signal
import sys

import cunn
import cunn.distributed as dist
import cunn.nn as nn
from cunn.nn.parallel import DistributedDataParallel

case = sys.argv[1]
dist.init_process_group("mpi")
rank = dist.get_rank()
if case == "mismatch":
    DistributedDataParallel(nn.Linear(4, 3 if rank == 0 else 5))
elif case == "exception":
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(cunn.zeros(3))
elif case == "killed":
    if rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(cunn.zeros(3))
print(f"rank {rank} was not stopped", flush=True)
