"""Devices: ``cunn.device("cpu" | "cuda" | "cuda:0")``, accepted wherever PyTorch takes a device.

A tensor's array says where it lives: a NumPy array is host memory, a ``DeviceArray``
(cunn/_backends/cuda/array.py) GPU memory. This module is the one place that turns a
requested device into a usable one (``check_device``), tells two arrays' devices apart for
an op (``check_same_device``) and copies an array between devices (``transfer``).
Constructing a device object always works; placing data on an absent GPU raises
RuntimeError, as in PyTorch.
"""
import importlib
import sys

import numpy as np

__all__ = ["device", "check_device", "check_same_device", "device_of", "transfer", "filled",
           "is_device_array", "to_host", "copy_into"]

_NOT_BUILT = ("CUDA is not available: cunn was built without CUDA; reinstall with "
              "-Ccmake.define.CUNN_CUDA=ON on a machine with a CUDA toolkit")


class device:  # noqa: N801  (PyTorch's name)
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a str such as 'cpu', got {type.__class__.__name__}")
        name, _, number = type.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device type {name!r} (expected 'cpu' or 'cuda')")
        self.type = name
        self.index = int(number) if number else index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")
# What DeviceArray holds (bool as 0/1 bytes); other data is refused, not silently cast.
_DEVICE_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.uint8),
                  np.dtype(np.bool_))


def cuda_runtime(op, wanted=None):
    """The CUDA runtime (``cunn._C.cuda``, or the simulator the tests install); a
    RuntimeError starting with ``op`` (and naming the ``wanted`` device) when CUDA was not
    built or no GPU is present."""
    head = op if wanted is None else f"{op}: cannot use device {str(wanted)!r}"
    try:
        runtime_module = importlib.import_module("cunn._backends.cuda.runtime")
    except ImportError:
        raise RuntimeError(f"{head}: {_NOT_BUILT}") from None
    try:
        return runtime_module.runtime()
    except RuntimeError as error:
        raise RuntimeError(f"{head}: {error}") from None


def check_device(op, target):
    """``target`` (a str or device) as a device cunn can place tensors on: the CPU, or a
    present GPU with its index filled in (``"cuda"`` is the current one)."""
    chosen = device(target)
    if chosen.type == "cpu":
        return CPU
    runtime = cuda_runtime(op, chosen)
    count = int(runtime.device_count())
    current = int(runtime.current_device())
    index = current if chosen.index is None else chosen.index
    if not 0 <= index < count:
        raise RuntimeError(f"{op}: invalid device {str(chosen)!r}: this machine has {count} "
                           f"CUDA device(s), cuda:0 to cuda:{count - 1}")
    if index != current:
        # Kernels run on the current GPU, so every GPU array must live there.
        raise RuntimeError(f"{op}: cunn computes on one GPU at a time and cuda:{current} is "
                           f"the current one; call cunn.cuda.set_device({index}) first to "
                           f"use cuda:{index}")
    return device("cuda", index)


def is_device_array(value):
    """Whether ``value`` is a DeviceArray; none can exist before the CUDA array module is
    imported, so this never imports it."""
    module = sys.modules.get("cunn._backends.cuda.array")
    return module is not None and isinstance(value, module.DeviceArray)


def device_of(array):
    """The device holding ``array`` (an ndarray or a DeviceArray)."""
    if isinstance(array, np.ndarray):
        return CPU
    where = array.device
    return where if isinstance(where, device) else \
        device("cuda", where) if isinstance(where, int) else device(str(where))


def check_same_device(op, *arrays):
    """RuntimeError naming both devices when ``arrays`` of one op live on different ones
    (host or GPU: cunn computes on one GPU at a time). As in PyTorch, a 0-d host array (a
    Python number made a tensor) may join a GPU op."""
    first = None
    for array in arrays:
        if array is None or (isinstance(array, np.ndarray) and array.ndim == 0):
            continue
        if first is None:
            first = array
        elif type(array) is not type(first):  # (an array's type says where it lives)
            raise RuntimeError(f"{op}: expected all tensors to be on the same device, found "
                               f"{device_of(first)} and {device_of(array)} (move them with "
                               ".to(device))")


def transfer(array, target, op="to"):
    """``array`` on the device ``target`` (a checked device, so the current GPU): the same
    array when it is already there, else a copy (host to GPU or GPU to host)."""
    if target.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    if not isinstance(array, np.ndarray):
        return array  # GPU arrays all live on the current GPU, which check_device gave
    _check_device_dtype(op, array.dtype)
    return importlib.import_module("cunn._backends.cuda.array").to_device(array)


def filled(target, shape, value, dtype, op="tensor"):
    """A new array of ``shape`` and ``dtype`` holding ``value`` on the checked device
    ``target``. On the GPU that is one fill kernel: a copy from host memory would also wait
    for every kernel queued before it."""
    if target.type == "cpu":
        return np.full(shape, value, dtype)
    _check_device_dtype(op, np.dtype(dtype))
    return importlib.import_module("cunn._backends.cuda.array").full(shape, value, dtype)


def _check_device_dtype(op, dtype):
    if dtype not in _DEVICE_DTYPES:
        raise TypeError(f"{op}: CUDA tensors hold float32, int64, uint8 or bool data, got "
                        f"{dtype}; convert first, e.g. .float() or .long()")


def to_host(array):
    """``array`` as a NumPy array: a host copy of a DeviceArray, else np.asarray(array)
    (an ndarray itself)."""
    return array.get() if is_device_array(array) else np.asarray(array)


def copy_into(destination, source, op="copy_"):
    """Writes ``source`` (a number, or an array of ``destination``'s shape or one that
    broadcasts to it, on any device) into ``destination`` in place, converting to its
    dtype: how initialisers, ``copy_``, ``load_state_dict`` and ``zero_grad`` fill
    tensors on either device."""
    if isinstance(destination, np.ndarray):
        np.copyto(destination, np.broadcast_to(to_host(source), destination.shape),
                  casting="unsafe")
        return
    if is_device_array(source):
        destination[...] = source  # cast, broadcast and copied on the device
        return
    if np.ndim(source) == 0:
        destination.fill(np.asarray(source).item())  # one fill kernel, no host buffer
        return
    if not destination.is_contiguous():
        raise RuntimeError(f"{op}: writing into a non-contiguous CUDA tensor is not supported; "
                           "write into a contiguous one (.contiguous()) instead")
    host = np.asarray(np.broadcast_to(np.asarray(source).astype(destination.dtype, copy=False),
                                      destination.shape), order="C")
    if host.size:
        destination.runtime.copy_from_host(destination.ptr, host)
