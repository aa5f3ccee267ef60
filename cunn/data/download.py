"""Downloading gzip data files from mirrors, verified by the SHA-256 of their decompressed bytes.

Each mirror is tried in turn. A file is streamed into a temporary file in the target folder
and renamed into place only once its checksum matches, so a failed or interrupted download
never leaves a partial or corrupt file under the real name; folders created for a download
that then fails are removed again (nothing is left behind unless a file was written). urllib only; every network
operation has a timeout. The progress bar uses tqdm when it is installed.
"""
import gzip
import hashlib
import os
import sys
import tempfile
import zlib

from cunn.data.idx import DatasetError

# Downloads larger than this are refused: no MNIST-like file comes close, and it bounds
# what a misbehaving server can write to disk.
MAX_BYTES = 1 << 28
# The same bound on decompressed content, so a hostile "gzip bomb" cannot run for ages.
MAX_DECOMPRESSED_BYTES = 1 << 31
_CHUNK = 1 << 16


def sha256_of_gzip(path):
    """SHA-256 hex digest of the decompressed content of the gzip file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with gzip.open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            size += len(chunk)
            if size > MAX_DECOMPRESSED_BYTES:
                raise OSError(f"decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")
            digest.update(chunk)
    return digest.hexdigest()


def _progress_bar(total, description, progress):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        print(f"cunn: downloading {description}", file=sys.stderr)
        return None
    # disable=None: no bar when stderr is not a terminal (a log file would get every frame)
    return tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False, disable=None)


def _stream_to(url, target, timeout, progress):
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None and length.isdigit() else None
        if total is not None and total > MAX_BYTES:
            raise OSError(f"refusing a {total}-byte file (limit {MAX_BYTES})")
        bar = _progress_bar(total, url, progress)
        received = 0
        try:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > MAX_BYTES:
                    raise OSError(f"download exceeds {MAX_BYTES} bytes")
                target.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise OSError(f"connection closed after {received} of {total} bytes")


def fetch(filename, folder, sha256, mirrors, timeout=30.0, progress=True):
    """Download ``filename`` (a .gz name) from the first mirror that serves a valid copy into
    ``folder``; returns its path.

    ``mirrors`` are base URLs (http or https), ``sha256`` the digest of the decompressed
    content. Raises ``DatasetError`` when some mirror served data that failed the checksum or
    could not be decompressed and none served a good copy, ``FileNotFoundError`` when no
    mirror could be reached; either message lists every attempt.
    """
    if not mirrors:
        raise FileNotFoundError(f"{filename}: no download mirrors configured")
    # Folders made for this download are removed again if it fails: nothing is created
    # unless a download actually writes into it.
    created, parent = [], os.path.abspath(folder)
    while not os.path.isdir(parent) and parent != os.path.dirname(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    os.makedirs(folder, exist_ok=True)
    try:
        return _download(filename, folder, sha256, mirrors, timeout, progress)
    except BaseException:
        for path in created:  # deepest first
            try:
                os.rmdir(path)
            except OSError:
                break
        raise


def _download(filename, folder, sha256, mirrors, timeout, progress):
    import http.client

    destination = os.path.join(folder, filename)
    failures, corrupt = [], False
    for base in mirrors:
        url = base + filename
        handle, temporary = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=folder)
        try:
            with os.fdopen(handle, "wb") as target:
                _stream_to(url, target, timeout, progress)
            try:
                digest = sha256_of_gzip(temporary)
            except (OSError, EOFError, zlib.error) as err:
                corrupt = True
                failures.append(f"{url}: not valid gzip data ({err})")
                continue
            if digest != sha256:
                corrupt = True
                failures.append(f"{url}: SHA-256 of the decompressed data is {digest}, "
                                f"expected {sha256}")
                continue
            os.replace(temporary, destination)
            return destination
        except (OSError, ValueError, http.client.HTTPException) as err:
            # urllib's URLError/HTTPError and socket timeouts are OSErrors, a malformed URL a
            # ValueError, a connection cut mid-body http.client.IncompleteRead.
            failures.append(f"{url}: {type(err).__name__}: {err}")
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    attempts = "\n  ".join(failures)
    if corrupt:
        raise DatasetError(f"{filename}: no mirror served a valid copy:\n  {attempts}")
    raise FileNotFoundError(f"{filename}: could not download it from any mirror:\n  {attempts}")
