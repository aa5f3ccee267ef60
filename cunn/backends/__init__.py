"""PyTorch's ``torch.backends`` namespace, so scripts that probe it run unchanged.

cunn runs on the CPU: ``mps`` is never available and the ``cudnn`` flags are accepted and
ignored. The kernel backends (``"cpu"``, ``"numpy"``) are chosen with
``cunn.use_backend``, not here.
"""
from cunn.backends import cudnn, mps  # noqa: F401
