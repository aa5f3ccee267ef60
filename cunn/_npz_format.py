"""cunn's checkpoint format: a NumPy .npz archive with a JSON manifest, without pickle.

Layout of the archive (a plain zip that ``np.load(path, allow_pickle=False)`` reads):
  ``__cunn_manifest__``  uint8 array: UTF-8 JSON {"format": "cunn", "version": 1, "root": node}
  ``a0``, ``a1``, ...     one entry per stored array (dtype and shape kept by the .npy header)
A node is a JSON object tagged by "t": dict / odict (items as [key, node] pairs, keys str
or int, order kept), list, tuple, none, bool, int, float (as repr text, so nan, inf and
-0.0 survive exactly), str, array and scalar (a NumPy scalar; both name their entry).
Tensors are stored as arrays; arrays load back as Tensors.

Reading trusts nothing in the file: the zip and .npy headers are parsed here, every
size is checked against the file's own length before anything is allocated (a header
claiming 10^12 floats, or a deflated entry expanding past ``MAX_INFLATED_BYTES`` and
``MAX_EXPANSION`` times its compressed size, is refused), the .npy shape times the
item size must equal the entry's stored size, and the zip CRC of every entry read is
verified. Every problem raises CorruptFileError naming the file and the key.
"""
import collections
import json
import math
import zipfile

import numpy as np

from cunn.device import to_host
from cunn._checkpoint_errors import CorruptFileError

__all__ = ["encode", "write", "read"]

_MANIFEST = "__cunn_manifest__"
_FORMAT = "cunn"
_VERSION = 1
# Array dtypes that .npy stores without pickle and that load back as themselves.
_ARRAY_KINDS = "biufcUS"
# cunn.save never compresses; a compressed entry (np.savez_compressed, a re-zipped
# file) may expand to MAX_INFLATED_BYTES, or beyond it up to MAX_EXPANSION times its
# compressed size: deflate reaches ~1000x only on degenerate data (a zip bomb).
MAX_INFLATED_BYTES = 256 << 20
MAX_EXPANSION = 50
_CHUNK = 16 << 20


def _path_text(path):
    return "".join(f"[{key!r}]" for key in path) or "the object itself"


def _is_tensor(value):
    from cunn._tensor import Tensor  # cunn is imported by now; keeps this module light

    return isinstance(value, Tensor)


# ---- writing ----

class _Writer:
    def __init__(self):
        self.arrays = {}
        self.active = set()  # ids of containers on the current path (cycle check)

    def node(self, value, path):
        if value is None:
            return {"t": "none"}
        if isinstance(value, bool):
            return {"t": "bool", "v": value}
        if isinstance(value, int):
            return {"t": "int", "v": int(value)}
        if isinstance(value, float):
            return {"t": "float", "v": repr(float(value))}
        if isinstance(value, str):
            return {"t": "str", "v": value}
        if isinstance(value, np.generic):
            return self.array_node(np.asarray(value), path, "scalar")
        if isinstance(value, np.ndarray):
            return self.array_node(value, path, "array")
        if _is_tensor(value):  # a GPU tensor is written from a host copy
            return self.array_node(np.asarray(to_host(value._data)), path, "array")
        if isinstance(value, (dict, list, tuple)):
            if id(value) in self.active:
                raise ValueError(f"save: the object at {_path_text(path)} contains itself")
            self.active.add(id(value))
            try:
                return self.container_node(value, path)
            finally:
                self.active.discard(id(value))
        raise TypeError(f"save: cannot store a {type(value).__name__} at {_path_text(path)} "
                        "(storable: dicts, lists, tuples, None, bool, int, float, str, "
                        "numeric NumPy arrays and Tensors)")

    def container_node(self, value, path):
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: dict keys must be str or int, got "
                                    f"{type(key).__name__} key {key!r} at {_path_text(path)}")
                items.append([key if isinstance(key, str) else int(key),
                              self.node(item, path + [key])])
            kind = "odict" if isinstance(value, collections.OrderedDict) else "dict"
            return {"t": kind, "items": items}
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "items": [self.node(item, path + [index])
                                     for index, item in enumerate(value)]}

    def array_node(self, array, path, kind):
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"save: cannot store an array of dtype {array.dtype} at "
                            f"{_path_text(path)} (only bool, numeric and string arrays; "
                            "object arrays would need pickle)")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return {"t": kind, "entry": name}


def encode(obj):
    """The archive's entries for ``obj`` (TypeError/ValueError for what cannot be stored),
    computed before any file is touched."""
    writer = _Writer()
    root = writer.node(obj, [])
    manifest = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root},
                          ensure_ascii=False, allow_nan=False).encode("utf-8")
    entries = dict(writer.arrays)
    entries[_MANIFEST] = np.frombuffer(manifest, dtype=np.uint8)
    return entries


def write(entries, file):
    """Writes what ``encode`` returned to a binary file object."""
    np.savez(file, **entries)


# ---- reading ----

class _Archive:
    """The zip, with each entry's sizes checked before it is read."""

    def __init__(self, file, name):
        self.name = name
        file.seek(0, 2)
        self.length = file.tell()
        file.seek(0)
        if file.read(4) != b"PK\x03\x04":
            raise CorruptFileError(name, "not an .npz/zip archive")
        file.seek(0)
        try:
            self.zip = zipfile.ZipFile(file)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, OverflowError) as error:
            raise CorruptFileError(name, f"damaged or truncated archive ({error})") from None
        self.members = {}
        for info in infos:
            if info.filename in self.members:
                raise CorruptFileError(name, f"the archive lists {info.filename!r} twice")
            self.members[info.filename] = info

    def has(self, entry):
        return entry + ".npy" in self.members

    def array(self, entry, key):
        info = self.members.get(entry + ".npy")
        if info is None:
            raise CorruptFileError(self.name, f"missing array entry {entry!r:.80}", key)
        self._check_sizes(info, key)
        try:
            with self.zip.open(info) as member:
                return self._read_npy(member, info, key)
        except CorruptFileError:
            raise
        except MemoryError:
            raise
        # NumPy's header parser and zipfile raise many types on damaged bytes
        # (tokenize.TokenError, SyntaxError, zlib.error, BadZipFile for a CRC...).
        except Exception as error:  # noqa: BLE001
            raise CorruptFileError(self.name, f"entry {entry!r} is damaged "
                                   f"({type(error).__name__}: {error})", key) from None

    def _check_sizes(self, info, key):
        problem = None
        if info.flag_bits & 0x1:
            problem = "is encrypted"
        elif info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problem = f"uses compression method {info.compress_type}, which cunn does not read"
        elif info.header_offset + info.compress_size > self.length:
            problem = (f"claims {info.compress_size} bytes, more than the file's "
                       f"{self.length} bytes hold")
        elif info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            problem = (f"is stored uncompressed but claims {info.file_size} bytes for "
                       f"{info.compress_size} stored")
        elif info.file_size > max(MAX_INFLATED_BYTES, MAX_EXPANSION * info.compress_size):
            problem = (f"would expand from {info.compress_size} to {info.file_size} bytes, "
                       f"beyond the limit of {MAX_EXPANSION}x above {MAX_INFLATED_BYTES} "
                       "bytes (a zip bomb?)")
        if problem is not None:
            raise CorruptFileError(self.name, f"entry {info.filename!r} {problem}", key)

    def _read_npy(self, member, info, key):
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise CorruptFileError(self.name, f"entry {info.filename!r} has .npy format "
                                   f"version {version}, which cunn does not write", key)
        header_size = member.tell()
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None \
                or dtype.subdtype is not None:
            raise CorruptFileError(self.name, f"entry {info.filename!r} has dtype {dtype}, "
                                   "which cunn does not store", key)
        if not all(isinstance(size, int) and size >= 0 for size in shape):
            raise CorruptFileError(self.name, f"entry {info.filename!r} has the invalid shape "
                                   f"{shape!r:.80}", key)
        declared = math.prod(shape) * dtype.itemsize
        stored = info.file_size - header_size
        if declared != stored:
            raise CorruptFileError(self.name, f"entry {info.filename!r} declares shape "
                                   f"{shape} of {dtype} ({declared} bytes) but stores "
                                   f"{stored} bytes", key)
        array = np.empty(shape[::-1] if fortran_order else shape, dtype=dtype)
        buffer = memoryview(array.reshape(-1).view(np.uint8)) if declared else memoryview(b"")
        done = 0
        while done < declared:
            count = member.readinto(buffer[done:done + _CHUNK])
            if not count:
                raise CorruptFileError(self.name, f"entry {info.filename!r} ends after "
                                       f"{done} of {declared} bytes", key)
            done += count
        if member.read(1):  # also makes zipfile verify the entry's CRC at its end
            raise CorruptFileError(self.name, f"entry {info.filename!r} is longer than "
                                   "declared", key)
        if fortran_order:
            array = array.T
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        return array


class _Reader:
    def __init__(self, archive):
        self.archive = archive

    def corrupt(self, problem, path=None):
        return CorruptFileError(self.archive.name, problem,
                                None if not path else _path_text(path))

    def node(self, node, path):
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise self.corrupt(f"malformed manifest node {node!r:.80}", path)
        kind = node["t"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            value = node.get("v")
            expected = {"bool": bool, "int": int, "str": str}[kind]
            if type(value) is not expected:
                raise self.corrupt(f"a {kind} node holds {value!r:.80}", path)
            return value
        if kind == "float":
            value = node.get("v")
            try:
                return float(value)
            except (TypeError, ValueError):
                raise self.corrupt(f"a float node holds {value!r:.80}", path) from None
        if kind in ("dict", "odict"):
            result = collections.OrderedDict() if kind == "odict" else {}
            for pair in self.items(node, path):
                if not (isinstance(pair, list) and len(pair) == 2) or \
                        isinstance(pair[0], bool) or not isinstance(pair[0], (str, int)):
                    raise self.corrupt(f"malformed dict item {pair!r:.80}", path)
                result[pair[0]] = self.node(pair[1], path + [pair[0]])
            return result
        if kind in ("list", "tuple"):
            items = [self.node(item, path + [index])
                     for index, item in enumerate(self.items(node, path))]
            return tuple(items) if kind == "tuple" else items
        if kind in ("array", "scalar"):
            name = node.get("entry")
            if not isinstance(name, str) or name == _MANIFEST or not self.archive.has(name):
                raise self.corrupt(f"missing array entry {name!r:.80}", path)
            array = self.archive.array(name, _path_text(path))
            if kind == "scalar":
                if array.ndim:
                    raise self.corrupt(f"the scalar entry {name!r} has shape {array.shape}", path)
                return array[()]
            return _as_tensor(array)
        raise self.corrupt(f"unknown node type {kind!r:.40}", path)

    def items(self, node, path):
        items = node.get("items")
        if not isinstance(items, list):
            raise self.corrupt("a container node without items", path)
        return items


def _as_tensor(array):
    from cunn._tensor import Tensor

    return Tensor(array)


def read(file, name):
    """The object saved in the binary, seekable ``file``; ``name`` is used in messages."""
    archive = _Archive(file, name)
    if not archive.has(_MANIFEST):
        raise CorruptFileError(name, f"an .npz archive without a {_MANIFEST} entry (was it "
                               "written by cunn.save?)")
    raw = archive.array(_MANIFEST, None)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CorruptFileError(name, "the manifest is not a uint8 vector")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CorruptFileError(name, f"unreadable manifest ({type(error).__name__}: "
                               f"{str(error):.200})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise CorruptFileError(name, "the manifest does not describe a cunn checkpoint")
    if manifest.get("version") != _VERSION:
        raise CorruptFileError(name, f"it uses checkpoint format version "
                               f"{manifest.get('version')!r:.40}; this cunn reads version "
                               f"{_VERSION}")
    try:
        return _Reader(archive).node(manifest.get("root"), [])
    except RecursionError:
        raise CorruptFileError(name, "the manifest nests too deeply") from None
