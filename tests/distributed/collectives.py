"""Run under ``mpiexec -n 2``: every collective and no_sync; prints OK from each rank."""
import numpy as np

import cunn
import cunn.distributed as dist
import cunn.nn as nn
from cunn.nn.parallel import DistributedDataParallel

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and size == 2

summed = cunn.tensor([1.0, 2.0, 3.0]) * (rank + 1)
dist.all_reduce(summed)
assert summed.tolist() == [3.0, 6.0, 9.0], summed
largest = np.array([rank, -rank], dtype=np.int64)
dist.all_reduce(largest, op=dist.ReduceOp.MAX)
assert largest.tolist() == [1, 0], largest
mean = cunn.tensor([2.0 * rank])
dist.all_reduce(mean, op=dist.ReduceOp.AVG)
assert mean.tolist() == [1.0], mean

shared = cunn.full((2, 3), float(rank))
dist.broadcast(shared, src=1)
assert (shared.numpy() == 1.0).all()

gathered = [cunn.zeros(2) for _ in range(size)]
dist.all_gather(gathered, cunn.tensor([rank, 10.0 + rank]))
assert [t.tolist() for t in gathered] == [[0.0, 10.0], [1.0, 11.0]], gathered

# no_sync: local gradients accumulate; the next synchronised backward averages them all.
cunn.manual_seed(0)
model = DistributedDataParallel(nn.Linear(3, 1, bias=False))
x = cunn.full((1, 3), float(rank + 1))
with model.no_sync():
    model(x).sum().backward()
assert model.module.weight.grad.tolist() == [[rank + 1.0] * 3], "no_sync must not reduce"
model(x).sum().backward()
# rank 0 holds 1+1, rank 1 holds 2+2: the average is 3 everywhere.
assert model.module.weight.grad.tolist() == [[3.0] * 3], model.module.weight.grad
assert list(model.state_dict()) == ["module.weight"]

dist.barrier()
print(f"rank {rank} OK", flush=True)
dist.destroy_process_group()
assert not dist.is_initialized()
