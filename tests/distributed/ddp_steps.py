"""Run under ``mpiexec -n 2``: each rank trains on its share of the batch through DDP; rank 0
writes the resulting parameters to OUT. Usage: ddp_steps.py MODEL OPTIMIZER STEPS OUT"""
import sys

import numpy as np

import cunn.distributed as dist
from cunn.nn.parallel import DistributedDataParallel

import models

kind, optimizer_kind, steps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
local = models.build(kind)
if rank != 0:
    # A different start elsewhere: construction must copy rank 0's parameters.
    for parameter in local.parameters():
        parameter.data.normal_(0, 1)
model = DistributedDataParallel(local)
opt = models.optimizer(optimizer_kind, model)
images, labels = models.batch()
share = len(images) // size
mine = slice(rank * share, (rank + 1) * share)
models.train(model, opt, images[mine], labels[mine], steps)
if rank == 0:
    grads = {f"grad:{name}": np.asarray(p.grad) for name, p in model.module.named_parameters()}
    np.savez(out, **grads,
             **{name: np.asarray(p) for name, p in model.module.state_dict().items()})
dist.destroy_process_group()
