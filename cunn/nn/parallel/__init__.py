"""cunn.nn.parallel: DataParallel (transparent on one machine) and DistributedDataParallel
(one replica per MPI rank; needs the ``mpi`` extra only when constructed)."""
from cunn.nn.parallel.data_parallel import DataParallel
from cunn.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
