"""cunn.nn: modules, layers, containers and losses with PyTorch's names and semantics.

``cunn.nn.functional`` (``F``) holds the differentiable functions the layers call;
``cunn.nn.init`` the weight initialisers.
"""
from cunn.nn import functional  # noqa: F401  (import cunn.nn.functional as F works too)
from cunn.nn import init  # noqa: F401
from cunn.nn.parameter import Parameter
from cunn.nn.modules import *  # noqa: F401,F403
from cunn.nn.modules import __all__ as _modules_all
from cunn.nn.parallel import DataParallel
from cunn.nn import parallel  # noqa: F401
from cunn.nn import utils  # noqa: F401

__all__ = ["functional", "init", "parallel", "utils", "Parameter", "DataParallel",
           *_modules_all]
