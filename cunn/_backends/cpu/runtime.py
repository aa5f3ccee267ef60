"""Thread count of the compiled kernels."""
from cunn import _C

__all__ = ["set_num_threads", "get_num_threads"]

set_num_threads = _C.set_num_threads
get_num_threads = _C.get_num_threads
