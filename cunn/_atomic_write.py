"""Atomic file replacement that leaves nothing behind, even when the process is killed.

The data goes to an anonymous file first (Linux ``O_TMPFILE``: it has no name, so a
SIGKILL mid-write leaves nothing); once complete and fsync'ed it gets a temporary name
with ``linkat`` through ``/proc/self/fd`` and is renamed onto the target at once, so
readers see the old file or the new one, never a partial one. Where ``O_TMPFILE`` is
missing (other systems, some file systems) a named temporary file is used instead,
removed on every error Python sees; only a kill in between can leave it behind.
"""
import errno
import os

__all__ = ["write_atomically"]

# errno values with which a kernel or file system says "no O_TMPFILE here".
_NO_ANONYMOUS_FILES = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL,
                       getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


def write_atomically(path, write, op="save"):
    """Calls ``write(file)`` with a binary file and puts the result at ``path`` atomically,
    with the mode of the file it replaces (or the default for new files)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"{op}: the folder {directory!r} does not exist "
                                "(create it first)", os.fspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = None
    if not _write_anonymous(path, directory, write, mode):
        _write_named(path, directory, write, 0o644 if mode is None else mode)
    _sync_directory(directory)


def _write_anonymous(path, directory, write, mode):
    """The O_TMPFILE route; False where the system offers no anonymous files."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        handle = os.open(directory, flag | os.O_WRONLY, 0o666)  # umask applies, as in open()
    except OSError as error:
        if error.errno in _NO_ANONYMOUS_FILES:
            return False
        raise
    with os.fdopen(handle, "wb") as file:
        write(file)
        file.flush()
        if mode is not None:
            os.fchmod(handle, mode)
        os.fsync(handle)
        temporary = _link_to_temporary_name(handle, path, directory)
        if temporary is None:
            return False  # /proc unusable after all: the named route writes again
        try:
            os.replace(temporary, path)
        except BaseException:
            _remove(temporary)
            raise
    return True


def _link_to_temporary_name(handle, path, directory):
    for _ in range(16):
        temporary = _temporary_name(path, directory)
        try:
            os.link(f"/proc/self/fd/{handle}", temporary)  # linkat(AT_SYMLINK_FOLLOW)
            return temporary
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP):
                return None
            raise
    raise FileExistsError(errno.EEXIST, "no free temporary name next to", os.fspath(path))


def _temporary_name(path, directory):
    return os.path.join(directory, f".{os.path.basename(path)}.{os.urandom(4).hex()}.tmp")


def _write_named(path, directory, write, mode):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(16):
        temporary = _temporary_name(path, directory)
        try:
            handle = os.open(temporary, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name next to", os.fspath(path))
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


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
