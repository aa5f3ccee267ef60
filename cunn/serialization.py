"""cunn.save / cunn.load: checkpoints without pickle, PyTorch's calling conventions.

``save(obj, f)`` and ``load(f, map_location=None, weights_only=True)`` take a path
(str, bytes or os.PathLike: written at exactly that name, atomically, see
cunn/_atomic_write.py) or a binary file object (io.BytesIO, an open file). The
format is chosen here, in ``save`` and ``load``; the .npz format (cunn/_npz_format.py)
is the default. A file that cannot be read as a checkpoint raises
``CorruptFileError`` (a ValueError) naming the file and the key; loading never runs
code from the file.
"""
import io
import os

from cunn import _npz_format
from cunn._atomic_write import write_atomically
from cunn._checkpoint_errors import CorruptFileError

from cunn import _formats

__all__ = ["save", "load", "CorruptFileError"]


def _is_file_object(f, method):
    return not isinstance(f, (str, bytes, os.PathLike)) and callable(getattr(f, method, None))


def _path(op, f):
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(f"{op}: path must be a str, os.PathLike or a binary file object, "
                        f"got {type(f).__name__}")
    path = os.fspath(f)
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _check_binary(op, f):
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{op}: the file object is in text mode; open it in binary mode "
                        f"({'wb' if op == 'save' else 'rb'})")


from cunn import _formats

def save(obj, f):
    """Writes ``obj`` (a state dict, or nested dicts/lists/tuples of Tensors, NumPy arrays,
    numbers, strings, bools and None) to the path ``f`` (atomically, at exactly that
    name) or into the binary file object ``f``. Unstorable objects raise TypeError
    before anything is written."""
    other_format = _formats.saver_for(f)  # a .safetensors path
    if other_format is not None:
        return other_format(obj, f)
    if _is_file_object(f, "write"):
        _check_binary("save", f)
        _npz_format.write(_npz_format.encode(obj), f)
        return
    path = _path("save", f)
    entries = _npz_format.encode(obj)
    write_atomically(path, lambda file: _npz_format.write(entries, file))


from cunn import _formats

def load(f, map_location=None, weights_only=True):
    """Reads what ``save`` wrote from a path or a binary file object; arrays come back as
    Tensors. ``map_location`` and ``weights_only`` are PyTorch's keywords: tensors are
    loaded on the CPU, or moved to the GPU that ``map_location`` names ("cuda", or
    {"cpu": "cuda:0"}; an absent GPU is a RuntimeError), and nothing in the file is ever
    executed, whatever ``weights_only`` says. A damaged or foreign file
    raises ``CorruptFileError`` (a ValueError) naming the file and the key."""
    target = _check_map_location(map_location)
    loaded = _load(f, weights_only)
    return loaded if target is None else _moved(loaded, target)


def _load(f, weights_only):
    if not isinstance(weights_only, bool) and weights_only is not None:
        raise TypeError(f"load: weights_only must be a bool, got {type(weights_only).__name__}")
    if _is_file_object(f, "read"):
        _check_binary("load", f)
        name = getattr(f, "name", None)
        name = repr(name) if isinstance(name, (str, bytes)) else f"<{type(f).__name__}>"
        seekable = getattr(f, "seekable", None)
        if not (callable(seekable) and seekable() and f.tell() == 0):
            # zipfile needs to seek from the archive's start; PyTorch reads from here
            f = io.BytesIO(f.read())
        other_format = _formats.loader_for(f)  # a torch.save zip
        if other_format is not None:
            return other_format(f)
        return _read(f, name)
    path = _path("load", f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    other_format = _formats.loader_for(path)  # .safetensors, or a torch.save zip
    if other_format is not None:
        return other_format(path)
    with open(path, "rb") as file:
        return _read(file, path)


def _read(file, name):
    """The one place where load picks a reader for a seekable binary ``file`` (``name``:
    the path, or a description of the file object, for messages)."""
    return _npz_format.read(file, name)


def _check_map_location(map_location):
    """The device to load tensors onto (None: the CPU, where files keep them), from what
    torch.load accepts: a device or str, a dict mapping saved locations ("cpu") to
    devices, or a callable (whose storages are all on the CPU here: left there)."""
    from cunn.device import check_device

    if isinstance(map_location, dict):
        map_location = map_location.get("cpu")
    if map_location is None or callable(map_location):
        return None
    if isinstance(map_location, str) or type(map_location).__name__ == "device":
        target = check_device("load", map_location)  # RuntimeError for an absent GPU
        return None if target.type == "cpu" else target
    raise TypeError(f"load: map_location must be None, a device, a str, a dict or a "
                    f"callable, got {type(map_location).__name__}")


def _moved(obj, target):
    """``obj`` with every Tensor in its dicts, lists and tuples moved to ``target``."""
    from cunn._tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.to(target)
    if isinstance(obj, dict):
        moved = type(obj)() if type(obj) is not dict else {}
        for key, value in obj.items():
            moved[key] = _moved(value, target)
        return moved
    if isinstance(obj, (list, tuple)):
        return type(obj)(_moved(value, target) for value in obj)
    return obj
