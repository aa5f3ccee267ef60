"""PyTorch-style aliases: ``cunn.utils.data`` is ``cunn.data``; each submodule is an attribute,
imported on first use."""
from cunn._lazy import submodule_getattr as _submodule_getattr

__getattr__ = _submodule_getattr(__name__)
