"""cunn.save / cunn.load: checkpoints as a NumPy .npz archive, without pickle.

Layout of the archive (a plain zip that ``np.load(path, allow_pickle=False)`` reads):
  ``__cunn_manifest__``  uint8 array: UTF-8 JSON {"format": "cunn", "version": 1, "root": node}
  ``a0``, ``a1``, ...     one entry per stored array (dtype and shape kept by the .npy header)
A node is a JSON object tagged by "t": dict / odict (items as [key, node] pairs, keys str
or int, order kept), list, tuple, none, bool, int, float (as repr text, so nan, inf and
-0.0 survive exactly), str, array and scalar (a NumPy scalar; both name their entry).
Tensors are stored as arrays and load back as NumPy arrays.

Writes are atomic: the archive goes to a temporary file in the target's directory,
is flushed and fsync'ed, then os.replace'd onto the target, so a crash mid-write
leaves the old file intact. Loading only parses JSON and .npy headers; it never
runs code.
"""
import collections
import json
import os
import tempfile
import zipfile

import numpy as np

from cunn import _formats

__all__ = ["save", "load"]

_MANIFEST = "__cunn_manifest__"
_FORMAT = "cunn"
_VERSION = 1
# Array dtypes that .npy stores without pickle and that load back as themselves.
_ARRAY_KINDS = "biufcUS"


def _path_text(path):
    return "".join(f"[{key!r}]" for key in path) or "the object itself"


def _is_tensor(value):
    from cunn._tensor import Tensor  # cunn is imported by now; keeps this module light

    return isinstance(value, Tensor)


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
        if _is_tensor(value):
            return self.array_node(np.asarray(value._data), path, "array")
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


def save(obj, path):
    """Writes ``obj`` (a state dict, or nested dicts/lists of arrays, Tensors, numbers,
    strings, bools and None) to exactly ``path``, atomically."""
    other_format = _formats.saver_for(path)  # a .safetensors path
    if other_format is not None:
        return other_format(obj, path)
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"save: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    writer = _Writer()
    root = writer.node(obj, [])
    manifest = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root},
                          ensure_ascii=False, allow_nan=False).encode("utf-8")
    entries = dict(writer.arrays)
    entries[_MANIFEST] = np.frombuffer(manifest, dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                         suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **entries)
            file.flush()
            os.fsync(file.fileno())
        _copy_mode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _sync_directory(directory)


def _copy_mode(target, temporary):
    """mkstemp makes the file private (0600): give it the old file's mode, or 0644."""
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        mode = 0o644
    os.chmod(temporary, mode)


def _sync_directory(directory):
    """Makes the rename itself durable where the platform allows it."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


class _NotACheckpoint(ValueError):
    """load's own diagnosis, passed through as is (other ValueErrors are wrapped)."""


class _Reader:
    def __init__(self, archive, path):
        self.archive = archive
        self.path = path

    def corrupt(self, what):
        return _NotACheckpoint(f"load: {self.path} is not a valid cunn checkpoint: {what}")

    def entry(self, name):
        value = self.archive[name]
        if not isinstance(value, np.ndarray):
            raise self.corrupt(f"entry {name!r} is not an .npy array")
        return value

    def node(self, node):
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise self.corrupt(f"malformed manifest node {node!r:.80}")
        kind = node["t"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            value = node.get("v")
            expected = {"bool": bool, "int": int, "str": str}[kind]
            if type(value) is not expected:
                raise self.corrupt(f"a {kind} node holds {value!r:.80}")
            return value
        if kind == "float":
            value = node.get("v")
            try:
                return float(value)
            except (TypeError, ValueError):
                raise self.corrupt(f"a float node holds {value!r:.80}") from None
        if kind in ("dict", "odict"):
            result = collections.OrderedDict() if kind == "odict" else {}
            for pair in self.items(node):
                if not (isinstance(pair, list) and len(pair) == 2) or \
                        isinstance(pair[0], bool) or not isinstance(pair[0], (str, int)):
                    raise self.corrupt(f"malformed dict item {pair!r:.80}")
                result[pair[0]] = self.node(pair[1])
            return result
        if kind in ("list", "tuple"):
            items = [self.node(item) for item in self.items(node)]
            return tuple(items) if kind == "tuple" else items
        if kind in ("array", "scalar"):
            name = node.get("entry")
            if not isinstance(name, str) or name == _MANIFEST or name not in self.archive.files:
                raise self.corrupt(f"missing array entry {name!r:.80}")
            array = self.entry(name)
            return array[()] if kind == "scalar" else array
        raise self.corrupt(f"unknown node type {kind!r:.40}")

    def items(self, node):
        items = node.get("items")
        if not isinstance(items, list):
            raise self.corrupt("a container node without items")
        return items


def load(path):
    """Reads what ``save`` wrote; arrays (and saved Tensors) come back as NumPy arrays."""
    other_format = _formats.loader_for(path)  # .safetensors, or a torch.save zip
    if other_format is not None:
        return other_format(path)
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"load: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    # The file is opened here, not by np.load, so that it is closed even when
    # np.load fails on a damaged archive (np.load would leave it open).
    with open(path, "rb") as file:
        if file.read(4) != b"PK\x03\x04":
            raise ValueError(f"load: {path} is not a cunn checkpoint (not an .npz/zip archive)")
        file.seek(0)
        return _read(file, path)


def _read(file, path):
    try:
        with np.load(file, allow_pickle=False) as archive:
            if _MANIFEST not in archive.files:
                raise _NotACheckpoint(f"load: {path} is an .npz archive but not a cunn "
                                      f"checkpoint (no {_MANIFEST} entry; was it written by "
                                      "cunn.save?)")
            reader = _Reader(archive, path)
            raw = reader.entry(_MANIFEST)
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise reader.corrupt("the manifest is not a uint8 vector")
            try:
                manifest = json.loads(raw.tobytes().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise reader.corrupt(f"unreadable manifest ({error})") from None
            if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
                raise reader.corrupt("the manifest does not describe a cunn checkpoint")
            if manifest.get("version") != _VERSION:
                raise _NotACheckpoint(f"load: {path} uses checkpoint format version "
                                      f"{manifest.get('version')!r}; this cunn reads "
                                      f"version {_VERSION}")
            return reader.node(manifest.get("root"))
    except _NotACheckpoint:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError,
            RecursionError) as error:
        raise ValueError(f"load: {path} is not a valid cunn checkpoint (damaged or truncated "
                         f"archive: {type(error).__name__}: {error})") from None
