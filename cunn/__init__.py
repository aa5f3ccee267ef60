"""cunn: a small, fast neural-network library with a PyTorch-familiar API."""
__version__ = "0.1.0"

from cunn.backends import backend, backends, use_backend  # noqa: F401
from cunn.random import manual_seed  # noqa: F401
from cunn._tensor import Tensor, from_numpy  # noqa: F401
