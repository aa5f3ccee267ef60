"""cunn: a small, fast neural-network library with a PyTorch-familiar API.

``import cunn`` loads NumPy and cunn's own modules only; nn, optim and data are
imported on first use, so the import stays cheap.
"""
__version__ = "0.1.0"

import numpy as _np

from cunn._lazy import submodule_getattr as _submodule_getattr

from cunn._backends import available_backends, backend, current_backend, use_backend  # noqa: F401
from cunn import backends  # noqa: F401  (PyTorch's torch.backends namespace)
from cunn.random import Generator, manual_seed  # noqa: F401
from cunn._tensor import Tensor, from_numpy  # noqa: F401
from cunn._checkpoint_errors import CorruptFileError  # noqa: F401
from cunn.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from cunn.autograd import inference_mode, is_inference_mode_enabled  # noqa: F401
from cunn.creation import (  # noqa: F401
    arange, as_tensor, empty, empty_like, full, full_like, ones, ones_like, rand, rand_like,
    randint, randn, randn_like, tensor, zeros, zeros_like)
from cunn.creation import eye, linspace, randperm  # noqa: F401
from cunn.device import device  # noqa: F401
from cunn.functions import (  # noqa: F401
    abs, argmax, argmin, cat, clamp, exp, flatten, log, log_softmax, matmul, max, mean, min,
    relu, reshape, sigmoid, softmax, sqrt, squeeze, stack, sum, tanh, transpose, unsqueeze,
    permute)
from cunn.functions import (  # noqa: F401
    eq, ge, gt, is_tensor, le, lt, ne, norm, std, topk, var, where)
from cunn.serialization import load, save  # noqa: F401
from cunn._formats.errors import UnpicklingError  # noqa: F401
from cunn.threads import get_num_threads, set_num_threads  # noqa: F401

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int64 = _np.dtype(_np.int64)
int32 = _np.dtype(_np.int32)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)  # noqa: A001  (PyTorch's name)
float = float32  # noqa: A001
long = int64
double = float64
int = int32  # noqa: A001  (PyTorch's torch.int)


# Every submodule (cunn.nn, cunn.utils, cunn.vision, ...) is an attribute, imported on first
# use, so that `import cunn` stays cheap.
__getattr__ = _submodule_getattr(__name__)
