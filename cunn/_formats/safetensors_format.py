"""cunn.save / cunn.load for ``*.safetensors`` paths, through the safetensors package's
NumPy API: the file holds exactly what ``safetensors.numpy.save_file`` writes for the same
arrays (and PyTorch's writer for the same tensors), and loads back as Tensors.

The format is a flat mapping of names to arrays: nested objects, numbers and strings
do not fit it and raise TypeError, as cunn.save does for what it cannot store.
"""
import os
import tempfile

import numpy as np

from cunn._formats._optional import require

__all__ = ["save", "load"]


def _arrays(obj, path):
    from cunn._tensor import Tensor  # cunn is imported by the time a file is written

    if not isinstance(obj, dict):
        raise TypeError(f"save: {path} is a .safetensors file, which holds a flat dict of "
                        f"tensors; got a {type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"save: .safetensors keys must be str, got "
                            f"{type(key).__name__} key {key!r}")
        if isinstance(value, Tensor):
            value = value.detach().cpu().numpy()  # a GPU tensor is written from a host copy
        if not isinstance(value, np.ndarray):
            raise TypeError(f"save: .safetensors values must be Tensors or NumPy arrays, got "
                            f"{type(value).__name__} at [{key!r}] (numbers, strings and nested "
                            "dicts need cunn's own format: use another suffix)")
        # The writer refuses non-contiguous views; their contents are what counts.
        # (Not np.ascontiguousarray: it turns a 0-d array into a 1-d one.)
        arrays[key] = value if value.flags.c_contiguous else value.copy(order="C")
    return arrays


def save(obj, path):
    """Writes the dict ``obj`` of Tensors/arrays to ``path`` atomically (temporary file in
    the same folder, then a rename), as cunn.save does for its own format."""
    safetensors_numpy = require("safetensors.numpy", "safetensors", "saving a .safetensors file")
    path = os.fspath(path)
    encoded = safetensors_numpy.save(_arrays(obj, path))
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                         suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(encoded)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def load(path):
    """The file's arrays as a dict of Tensors, in the file's order."""
    safetensors_numpy = require("safetensors.numpy", "safetensors", "loading a .safetensors file")
    from cunn._tensor import Tensor

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    with open(path, "rb") as file:
        encoded = file.read()
    try:
        arrays = safetensors_numpy.load(encoded)
    except Exception as error:  # the package raises its own SafetensorError on bad headers
        raise ValueError(f"load: {path} is not a valid .safetensors file ({error})") from None
    # Arrays decoded from bytes are read-only; a loaded state dict is meant to be trained.
    return {key: Tensor(array if array.flags.writeable else array.copy())
            for key, array in arrays.items()}
