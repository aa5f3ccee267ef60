"""cunn.load for PyTorch checkpoints (torch.save's zip format), without PyTorch and
without running anything from the file.

The archive holds ``<name>/data.pkl`` (a pickle of the saved object) and one raw
little- or big-endian member ``<name>/data/<key>`` per storage. The pickle names the
functions that rebuild its objects; an Unpickler whose ``find_class`` answers only
from the table below (data containers and tensor rebuilders written here) cannot be
made to call anything else: every other global raises cunn.UnpicklingError before the
object is looked up. Tensors come back as cunn Tensors.
"""
import collections
import io
import os
import pickle
import zipfile

import numpy as np

from cunn._formats.errors import UnpicklingError

__all__ = ["load"]

# torch's storage class names and the NumPy dtype of their raw bytes ("bfloat16" is
# widened to float32 below, as NumPy has no such dtype).
_STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2",
    "BFloat16Storage": "bfloat16", "LongStorage": "i8", "IntStorage": "i4",
    "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}


class _StorageType:
    """What the pickle's ``torch.FloatStorage`` etc. resolves to: only a dtype."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        raise TypeError("a checkpoint storage type is not picklable")


class _TensorHolder:
    """A rebuilt tensor until the load finishes. Its __setstate__ refuses the pickle's
    BUILD opcode, so a file cannot attach attributes to it."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __setstate__(self, state):
        raise UnpicklingError("load: the checkpoint sets state on a tensor (refused)")


class _CheckpointDict(collections.OrderedDict):
    """collections.OrderedDict as the pickle rebuilds it. A state dict carries a
    ``_metadata`` attribute (module versions); BUILD may set that and nothing else."""

    def __setstate__(self, state):
        if not isinstance(state, dict) or set(state) - {"_metadata"}:
            raise UnpicklingError("load: the checkpoint sets unexpected state on an "
                                  "OrderedDict (only _metadata is accepted)")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive, prefix, byteorder, path):
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix
        self.byteorder = byteorder
        self.path = path
        self.storages = {}
        self.globals = {
            ("collections", "OrderedDict"): _CheckpointDict,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch", "Size"): tuple,
        }
        for name in _STORAGE_DTYPES:
            self.globals[("torch", name)] = _StorageType(name)

    def find_class(self, module, name):
        found = self.globals.get((module, name))
        if found is None:
            raise UnpicklingError(f"load: {self.path} asks for the global '{module}.{name}', "
                                  "which cunn does not load (only tensors, storages, dicts, "
                                  "OrderedDicts, lists, tuples, numbers, strings and None); "
                                  "nothing from the file was run")
        return found

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[4], int) and pid[4] >= 0):
            raise UnpicklingError(f"load: {self.path} holds an unknown persistent reference "
                                  f"{pid!r:.100}")
        _, storage_type, key, _location, numel = pid
        cache_key = (key, storage_type.name)
        if cache_key not in self.storages:
            self.storages[cache_key] = self.read_storage(storage_type.name, key, numel)
        return self.storages[cache_key]

    def read_storage(self, type_name, key, numel):
        code = _STORAGE_DTYPES[type_name]
        order = "<" if self.byteorder == "little" else ">"
        raw_dtype = np.dtype(order + ("u2" if code == "bfloat16" else code))
        member = f"{self.prefix}/data/{key}"
        try:
            info = self.archive.getinfo(member)
        except KeyError:
            raise ValueError(f"load: {self.path} lacks the storage member {member!r}") from None
        if info.file_size != numel * raw_dtype.itemsize:
            raise ValueError(f"load: {self.path}: storage {key!r} holds {info.file_size} bytes, "
                             f"expected {numel} x {raw_dtype.itemsize}")
        array = np.frombuffer(self.archive.read(member), dtype=raw_dtype)
        if code == "bfloat16":
            # bfloat16 is the top half of a float32: widen it exactly.
            return (array.astype(np.uint32) << 16).view(np.float32)
        return array.astype(raw_dtype.newbyteorder("="), copy=True)

    def rebuild_tensor(self, storage, storage_offset, size, stride, *_rest):
        if not isinstance(storage, np.ndarray):
            raise UnpicklingError(f"load: {self.path}: a tensor is built from "
                                  f"{type(storage).__name__}, not a storage")
        shape, strides = _integers(size, "size", self.path), _integers(stride, "stride", self.path)
        if (len(shape) != len(strides) or isinstance(storage_offset, bool)
                or not isinstance(storage_offset, int) or storage_offset < 0
                or any(value < 0 for value in shape + strides)):
            raise ValueError(f"load: {self.path}: a tensor has an invalid layout (offset "
                             f"{storage_offset!r}, size {size!r}, stride {stride!r})")
        if 0 not in shape:
            last = storage_offset + sum((extent - 1) * step for extent, step in zip(shape, strides))
            if last >= storage.size:
                raise ValueError(f"load: {self.path}: a tensor of size {tuple(shape)} and "
                                 f"stride {tuple(strides)} reaches past its storage")
            view = np.lib.stride_tricks.as_strided(
                storage[storage_offset:], shape=shape,
                strides=[step * storage.itemsize for step in strides], writeable=False)
        else:
            view = np.empty(shape, dtype=storage.dtype)
        return _TensorHolder(np.array(view, copy=True))

    def rebuild_parameter(self, data, _requires_grad, _backward_hooks, *_rest):
        if not isinstance(data, _TensorHolder):
            raise UnpicklingError(f"load: {self.path}: a Parameter wraps "
                                  f"{type(data).__name__}, not a tensor")
        return data


def _integers(values, what, path):
    if not isinstance(values, tuple) or any(
            isinstance(value, bool) or not isinstance(value, int) for value in values):
        raise ValueError(f"load: {path}: a tensor's {what} is {values!r:.80}, not a tuple of ints")
    return list(values)


def _finish(value, done):
    """Replaces the holders by Tensors and _CheckpointDicts by OrderedDicts; ``done`` maps
    ids already converted, so objects the pickle shares (or nests in themselves) stay so."""
    from cunn._tensor import Tensor

    if id(value) in done:
        return done[id(value)]
    if isinstance(value, _TensorHolder):
        done[id(value)] = result = Tensor(value.array)
        return result
    if isinstance(value, dict):
        result = collections.OrderedDict() if isinstance(value, collections.OrderedDict) else {}
        done[id(value)] = result
        for key, item in value.items():
            result[_finish(key, done)] = _finish(item, done)
        return result
    if isinstance(value, list):
        done[id(value)] = result = []
        result.extend(_finish(item, done) for item in value)
        return result
    if isinstance(value, tuple):
        return tuple(_finish(item, done) for item in value)
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return value
    raise UnpicklingError(f"load: the checkpoint holds a {type(value).__name__}, which "
                          "cunn does not load")


def load(path):
    """The object torch.save wrote to ``path`` (or a binary file), with Tensors for torch
    tensors."""
    source = path if hasattr(path, "read") else os.fspath(path)
    path = getattr(path, "name", "the checkpoint") if hasattr(path, "read") else source
    try:
        with zipfile.ZipFile(source) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")
                       and name.count("/") == 1]
            prefix = pickles[0].rpartition("/")[0]
            byteorder = "little"
            if f"{prefix}/byteorder" in archive.namelist():
                byteorder = archive.read(f"{prefix}/byteorder").decode("ascii", "replace").strip()
                if byteorder not in ("little", "big"):
                    raise ValueError(f"load: {path}: unknown byte order {byteorder!r:.20}")
            unpickler = _Unpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix,
                                   byteorder, path)
            loaded = unpickler.load()
    except UnpicklingError:
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, KeyError, IndexError,
            TypeError, AttributeError, RecursionError) as error:
        raise ValueError(f"load: {path} is not a valid PyTorch checkpoint "
                         f"({type(error).__name__}: {error})") from None
    try:
        return _finish(loaded, {})
    except RecursionError:
        raise ValueError(f"load: {path}: the checkpoint nests too deeply") from None
