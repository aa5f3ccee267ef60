"""cunn.nn.init: PyTorch's weight initialisers, in place and outside autograd.

Each function writes into ``tensor._data`` (a Tensor or Parameter; a NumPy array is
accepted too) and returns ``tensor``. Fans follow PyTorch: for a weight of shape
(out, in, *kernel), fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
Random numbers come from cunn.random's generator, so ``cunn.manual_seed`` fixes them.
"""
import math
import numbers
import warnings

import numpy as np

from cunn import random as _random
from cunn.autograd.function import mark_changed_in_place

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_",
]


def _array(tensor, op):
    array = tensor if isinstance(tensor, np.ndarray) else getattr(tensor, "_data", None)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{op}: tensor must be a Tensor, got {type(tensor).__name__}")
    if not array.flags.writeable:
        raise ValueError(f"{op}: the tensor's array is read-only")
    mark_changed_in_place(tensor)  # the caller writes into it
    return array


def _floating(tensor, op):
    array = _array(tensor, op)
    if array.dtype.kind != "f":
        raise TypeError(f"{op}: tensor must be floating point (float32), got dtype {array.dtype}")
    return array


def _no_op_if_empty(array, op):
    if array.size == 0:
        warnings.warn(f"{op}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return True
    return False


def _number(value, name, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__}")
    return float(value)


def _draw_uniform(array, low, high):
    # Draw in the array's precision (float32 is twice as fast to generate), then scale.
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    values = _random.generator().random(array.shape, dtype=dtype)
    values *= dtype(high - low)
    values += dtype(low)
    array[...] = values


def _draw_normal(array, mean, std):
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    values = _random.generator().standard_normal(array.shape, dtype=dtype)
    values *= dtype(std)
    values += dtype(mean)
    array[...] = values


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity`` (PyTorch's table)."""
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Real):
            negative_slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one "
                     "of linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor):
    shape = _array(tensor, "fan computation").shape
    if len(shape) < 2:
        raise ValueError("fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions, got shape {tuple(shape)}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode, op):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode.lower() == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0):
    """Fills ``tensor`` with values drawn from U(a, b)."""
    array = _floating(tensor, "uniform_")
    a, b = _number(a, "a", "uniform_"), _number(b, "b", "uniform_")
    if a > b:
        raise ValueError(f"uniform_: a must be <= b, got a={a}, b={b}")
    _draw_uniform(array, a, b)
    return tensor


def normal_(tensor, mean=0.0, std=1.0):
    """Fills ``tensor`` with values drawn from N(mean, std**2)."""
    array = _floating(tensor, "normal_")
    mean, std = _number(mean, "mean", "normal_"), _number(std, "std", "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    _draw_normal(array, mean, std)
    return tensor


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """N(mean, std**2) truncated to [a, b] (inverse-CDF sampling, as PyTorch)."""
    array = _floating(tensor, "trunc_normal_")
    mean, std = _number(mean, "mean", "trunc_normal_"), _number(std, "std", "trunc_normal_")
    a, b = _number(a, "a", "trunc_normal_"), _number(b, "b", "trunc_normal_")
    if std < 0 or a > b:
        raise ValueError(f"trunc_normal_: need std >= 0 and a <= b, got std={std}, a={a}, b={b}")
    if std == 0:
        array[...] = min(max(mean, a), b)
        return tensor

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    low, high = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    u = _random.generator().uniform(2 * low - 1, 2 * high - 1, size=array.shape)
    values = _erfinv(u) * (std * math.sqrt(2.0)) + mean
    array[...] = np.clip(values, a, b)
    return tensor


def _erfinv(y):
    """Inverse error function on (-1, 1): Giles' single-precision approximation
    ("Approximating the erfinv function", 2010), enough for float32 samples."""
    y = np.asarray(y, dtype=np.float64)
    w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    p_small = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p_small = c + p_small * ws
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    p_large = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p_large = c + p_large * wl
    return np.where(small, p_small, p_large) * y


def constant_(tensor, val):
    """Fills ``tensor`` with ``val``."""
    array = _array(tensor, "constant_")
    if isinstance(val, bool) or not isinstance(val, numbers.Number):
        raise TypeError(f"constant_: val must be a number, got {type(val).__name__}")
    array[...] = val
    return tensor


def ones_(tensor):
    """Fills ``tensor`` with ones."""
    _array(tensor, "ones_")[...] = 1
    return tensor


def zeros_(tensor):
    """Fills ``tensor`` with zeros."""
    _array(tensor, "zeros_")[...] = 0
    return tensor


def eye_(tensor):
    """Fills a 2-D ``tensor`` with the identity matrix."""
    array = _array(tensor, "eye_")
    if array.ndim != 2:
        raise ValueError(f"eye_: tensor must be 2-D, got shape {array.shape}")
    array[...] = np.eye(*array.shape, dtype=array.dtype)
    return tensor


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    array = _floating(tensor, "xavier_uniform_")
    gain = _number(gain, "gain", "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    if _no_op_if_empty(array, "xavier_uniform_"):
        return tensor
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    _draw_uniform(array, -bound, bound)
    return tensor


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    array = _floating(tensor, "xavier_normal_")
    gain = _number(gain, "gain", "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    if _no_op_if_empty(array, "xavier_normal_"):
        return tensor
    _draw_normal(array, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))
    return tensor


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan)."""
    array = _floating(tensor, "kaiming_uniform_")
    if _no_op_if_empty(array, "kaiming_uniform_"):
        return tensor
    fan = _calculate_correct_fan(array, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _draw_uniform(array, -bound, bound)
    return tensor


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std**2) with std = gain / sqrt(fan)."""
    array = _floating(tensor, "kaiming_normal_")
    if _no_op_if_empty(array, "kaiming_normal_"):
        return tensor
    fan = _calculate_correct_fan(array, mode, "kaiming_normal_")
    _draw_normal(array, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))
    return tensor


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times gain;
    dimensions after the first are flattened, as PyTorch does."""
    array = _floating(tensor, "orthogonal_")
    if array.ndim < 2:
        raise ValueError(f"orthogonal_: tensor must have at least 2 dimensions, got shape "
                         f"{array.shape}")
    gain = _number(gain, "gain", "orthogonal_")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    flat = _random.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique, hence uniformly distributed
    if rows < cols:
        q = q.T
    array[...] = (gain * q).reshape(array.shape)
    return tensor
