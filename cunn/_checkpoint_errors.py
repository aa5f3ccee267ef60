"""The one error a damaged or foreign checkpoint raises (cunn.CorruptFileError)."""

__all__ = ["CorruptFileError"]


class CorruptFileError(ValueError):
    """``cunn.load`` was given a file it cannot read as a checkpoint: not an archive,
    truncated, damaged (a size or CRC that does not match), refused as unsafe (a size
    beyond what the file can hold) or written by something else. ``file`` names the
    file and ``key`` the entry of the saved object where the problem was found (None
    when it concerns the whole file)."""

    def __init__(self, file, problem, key=None):
        self.file = file
        self.key = key
        where = "" if key is None else f" at {key}"
        super().__init__(f"load: {file} is not a valid cunn checkpoint{where}: {problem}")
