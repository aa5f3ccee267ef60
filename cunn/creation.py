"""Making tensors: cunn.tensor and the factories zeros, ones, empty, full, rand, randn,
randint, arange and their *_like forms. Random ones draw from cunn/random.py.

Every factory takes ``device=``: the values are made on the host (so a seed gives the same
numbers on every device) and copied to the GPU. Without ``device=``, tensors go to the CPU,
or to the current GPU while ``cunn.use_backend("cuda")`` is in force; ``*_like`` keep the
other tensor's device, as in PyTorch."""
import numpy as np

from cunn import _backends, random
from cunn._tensor import Tensor, to_array
from cunn.device import check_device, filled, transfer

__all__ = ["tensor", "as_tensor", "zeros", "ones", "empty", "full", "rand", "randn", "randint",
           "arange", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
           "empty_like", "eye", "linspace", "randperm"]


def _size(op, size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for value in size:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {size!r}")
        if not 0 <= value < 1 << 63:  # NumPy would raise OverflowError past 2**63
            raise ValueError(f"{op}: sizes must be >= 0 and < 2**63, got {size!r}")
    return tuple(int(value) for value in size)


def _gpu(device):
    """The checked GPU a new tensor goes to (``device``, else the default device), or None
    for the CPU."""
    if device is None:
        device = _backends._default_device
        if device is None:
            return None
    target = check_device("tensor", device)
    return None if target.type == "cpu" else target


def _finish(array, requires_grad, device):
    target = _gpu(device)
    if target is not None:
        array = transfer(array, target, "tensor")
    return Tensor(array, requires_grad=requires_grad)


def _constant(make, value, shape, dtype, requires_grad, device):
    """zeros, ones, empty, full: ``make(shape, dtype)`` on the CPU, one fill kernel on the
    GPU (no host array, no copy)."""
    target = _gpu(device)
    array = make(shape, dtype) if target is None else filled(target, shape, value, dtype)
    return Tensor(array, requires_grad=requires_grad)


def _float_dtype(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data``: floating data becomes float32 and integers
    int64 unless ``dtype`` says otherwise; a GPU tensor's copy stays on its device unless
    ``device`` says otherwise."""
    if isinstance(data, Tensor) and data.is_cuda:
        device = data.device if device is None else device
        data = data._data.get()
    return _finish(to_array(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        # PyTorch's as_tensor: the same tensor when it already fits, else a converted one
        return data.to(device=device, dtype=dtype)
    return _finish(to_array(data, dtype), False, device)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _constant(np.zeros, 0, _size("zeros", size), _float_dtype(dtype), requires_grad,
                     device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _constant(np.ones, 1, _size("ones", size), _float_dtype(dtype), requires_grad,
                     device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _constant(np.empty, 0, _size("empty", size), _float_dtype(dtype), requires_grad,
                     device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = np.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(
            fill_value, bool) else (np.bool_ if isinstance(fill_value, bool) else np.float32)
    shape = _size("full", (size,))
    try:
        value = np.full((), fill_value, dtype)
    except OverflowError:
        raise ValueError(f"full: fill_value {fill_value!r} does not fit {np.dtype(dtype)}") \
            from None
    return _constant(lambda shape, dtype: np.full(shape, value, dtype), value.item(), shape,
                     dtype, requires_grad, device)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform in [0, 1)."""
    dtype = _float_dtype(dtype)
    array = random.generator(generator).random(_size("rand", size), dtype=np.float64).astype(dtype)
    return _finish(array, requires_grad, device)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal."""
    dtype = _float_dtype(dtype)
    array = random.generator(generator).standard_normal(_size("randn", size), dtype=np.float64)
    return _finish(array.astype(dtype), requires_grad, device)


def randint(low, high=None, size=None, generator=None, dtype=None, requires_grad=False,
            device=None):
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size must be given as a tuple, e.g. randint(0, 10, (64,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    for name, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, np.integer)):
            raise TypeError(f"randint: {name} must be an int, got {type(bound).__name__} "
                            f"{bound!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    array = random.generator(generator).integers(low, high, _size("randint", (size,)), dtype=np.int64)
    if dtype is not None:
        array = array.astype(dtype)
    return _finish(array, requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = all(isinstance(value, (int, np.integer)) for value in (start, end, step))
    if dtype is None:
        dtype = np.int64 if integral else np.float32
    return _finish(np.arange(start, end, step, dtype=np.float64 if not integral else np.int64)
                   .astype(dtype), requires_grad, device)


def _like_device(other, device):
    if device is not None:
        return device
    return other.device if isinstance(other, Tensor) else "cpu"


def _like(factory, other, dtype, requires_grad, device, **extra):
    dtype = other.dtype if dtype is None else dtype
    return factory(*other.shape, dtype=dtype, requires_grad=requires_grad,
                   device=_like_device(other, device), **extra)


def zeros_like(other, dtype=None, requires_grad=False, device=None):
    return _like(zeros, other, dtype, requires_grad, device)


def ones_like(other, dtype=None, requires_grad=False, device=None):
    return _like(ones, other, dtype, requires_grad, device)


def empty_like(other, dtype=None, requires_grad=False, device=None):
    return _like(empty, other, dtype, requires_grad, device)


def rand_like(other, dtype=None, requires_grad=False, device=None):
    return _like(rand, other, dtype, requires_grad, device)


def randn_like(other, dtype=None, requires_grad=False, device=None):
    return _like(randn, other, dtype, requires_grad, device)


def full_like(other, fill_value, dtype=None, requires_grad=False, device=None):
    return full(other.shape, fill_value, dtype=other.dtype if dtype is None else dtype,
                requires_grad=requires_grad, device=_like_device(other, device))


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The n x m identity matrix (m = n by default)."""
    rows, columns = _size("eye", (n, n if m is None else m))
    return _finish(np.eye(rows, columns, dtype=_float_dtype(dtype)), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    (steps,) = _size("linspace", (steps,))
    values = np.linspace(float(start), float(end), steps, dtype=np.float64)
    return _finish(values.astype(_float_dtype(dtype)), requires_grad, device)


def randperm(n, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of 0 .. n-1 (int64)."""
    (n,) = _size("randperm", (n,))
    order = random.generator(generator).permutation(n)
    return _finish(order.astype(np.int64 if dtype is None else dtype), requires_grad, device)
