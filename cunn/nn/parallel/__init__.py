"""cunn.nn.parallel: DataParallel (transparent on one machine)."""
from cunn.nn.parallel.data_parallel import DataParallel

__all__ = ["DataParallel"]
