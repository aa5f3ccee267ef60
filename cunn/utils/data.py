"""``cunn.utils.data``: the same objects as ``cunn.data``, under PyTorch's module path."""
from cunn.data import *  # noqa: F401,F403
from cunn.data import __all__  # noqa: F401
