"""Interchange formats behind cunn.save / cunn.load: safetensors files and PyTorch
checkpoints. serialization.py asks ``saver_for`` / ``loader_for`` first and keeps its own
format for everything else; the format modules (and their optional packages) are
imported only when a file of theirs is met, so ``import cunn`` stays light.
"""
import os
import zipfile

__all__ = ["saver_for", "loader_for"]

_SAFETENSORS_SUFFIX = ".safetensors"


def _is_safetensors_path(path):
    return isinstance(path, (str, os.PathLike)) and \
        os.fspath(path).lower().endswith(_SAFETENSORS_SUFFIX)


def saver_for(path):
    """The writer for ``path``'s format, or None for cunn's own."""
    if _is_safetensors_path(path):
        from cunn._formats import safetensors_format
        return safetensors_format.save
    return None


def loader_for(path):
    """The reader for the file at ``path`` when it is not cunn's own format, else None."""
    if _is_safetensors_path(path):
        from cunn._formats import safetensors_format
        return safetensors_format.load
    if _is_torch_archive(path):
        from cunn._formats import torch_checkpoint
        return torch_checkpoint.load
    return None


def _is_torch_archive(source):
    """torch.save's zip keeps everything under one folder with a ``data.pkl``. ``source``
    is a path or a seekable binary file, which is left where it was."""
    is_file = hasattr(source, "read") and hasattr(source, "seek")
    if not is_file and not isinstance(source, (str, os.PathLike)):
        return False
    try:
        start = source.tell() if is_file else None
        try:
            if not zipfile.is_zipfile(source):
                return False
            with zipfile.ZipFile(source) as archive:
                names = archive.namelist()
        finally:
            if is_file:
                source.seek(start)
    except Exception:  # noqa: BLE001
        # zipfile reacts to damaged headers with assorted errors (NotImplementedError for a
        # bogus version, EOFError, ...): whatever it is, the file is not a torch archive, and
        # cunn's own reader then reports it as a CorruptFileError.
        return False
    for name in names:
        folder, _, base = name.rpartition("/")
        if base == "data.pkl" and "/" not in folder and folder:
            return True
    return False
