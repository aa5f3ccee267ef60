"""IDX files, the container of MNIST and its drop-ins: read with full validation, write.

Layout: two zero bytes, a data-type code, the number of dimensions ``n``, then ``n``
big-endian uint32 sizes, then the values in row-major order, big-endian. A file is
accepted only if every part is there and the data length matches the header exactly:
a truncated or padded file raises ``DatasetError`` naming the file, never a short array.
Files may be gzip-compressed (recognised by their first bytes, whatever their name).
Nothing is allocated from the header's word: a plain file's size must match it before
the data is read, and gzip data is read in chunks, so a small file claiming a huge
shape fails at its real length (``read_idx_header`` lets callers cross-check headers
before reading any data).
"""
import gzip
import os
import zlib

import numpy as np


class DatasetError(ValueError):
    """A data file exists but is corrupt or inconsistent; the message names the file."""


# IDX data-type codes (third byte of the magic number); values are big-endian on disk.
DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("=") if dtype.itemsize > 1 else dtype: code
          for code, dtype in DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22
# How much trailing data to count before giving up (a bound on work for huge or hostile files).
_TRAILING_LIMIT = 1 << 26


def magic_number(dtype, ndim):
    """The IDX magic number for ``dtype`` values in ``ndim`` dimensions (0x803: uint8, 3-D)."""
    dtype = np.dtype(dtype)
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder("=")
    if dtype not in _CODES:
        raise TypeError(f"idx: dtype must be one of uint8, int8, int16, int32, float32, "
                        f"float64, got {dtype}")
    return (_CODES[dtype] << 8) | ndim


def _describe(magic):
    dtype = DTYPES.get((magic >> 8) & 0xFF)
    kind = dtype.newbyteorder("=").name if dtype is not None else "unknown type"
    return f"0x{magic:08x} ({kind}, {magic & 0xFF} dimensions)"


def read_idx_header(path, dtype=None, ndim=None):
    """The ``(dtype, shape)`` an IDX file's header declares (native-order dtype), checked as
    by ``read_idx`` but without reading the data."""
    name = os.fspath(path)
    with open(name, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            value_type, shape, _ = _parse_header(raw, name, dtype, ndim)
        else:
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    value_type, shape, _ = _parse_header(stream, name, dtype, ndim)
            except (OSError, EOFError, zlib.error) as err:
                raise DatasetError(f"{name}: corrupt gzip data ({err})") from err
    return value_type.newbyteorder("="), shape


def read_idx(path, dtype=None, ndim=None):
    """Read an IDX file (plain or gzip) into a NumPy array in native byte order.

    ``dtype`` / ``ndim``, if given, are what the magic number must say (e.g. uint8 and 3 for
    images, 0x00000803). Raises ``FileNotFoundError`` for a missing file and ``DatasetError``
    for a corrupt one (bad magic number, truncated header or data, extra bytes, bad gzip).
    """
    name = os.fspath(path)
    with open(name, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse(raw, name, dtype, ndim, os.fstat(raw.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse(stream, name, dtype, ndim)
        except (OSError, EOFError, zlib.error) as err:
            raise DatasetError(f"{name}: corrupt gzip data ({err})") from err


def _read_up_to(stream, size):
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(_CHUNK, size - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _parse_header(stream, name, dtype, ndim):
    """``(value_type, shape, header_bytes)`` from the start of ``stream``."""
    head = bytes(_read_up_to(stream, 4))
    if len(head) < 4:
        raise DatasetError(f"{name}: too short for an IDX header ({len(head)} bytes, "
                           "need at least 4)")
    magic = int.from_bytes(head, "big")
    if head[0] or head[1]:
        raise DatasetError(f"{name}: not an IDX file (magic number 0x{magic:08x} must start "
                           "with two zero bytes)")
    code, rank = head[2], head[3]
    if code not in DTYPES:
        raise DatasetError(f"{name}: unknown IDX data type code 0x{code:02x} in magic number "
                           f"0x{magic:08x}")
    if rank == 0:
        raise DatasetError(f"{name}: IDX header says 0 dimensions (magic 0x{magic:08x})")
    if dtype is not None or ndim is not None:
        want_dtype = np.dtype(dtype) if dtype is not None else DTYPES[code]
        expected = magic_number(want_dtype, rank if ndim is None else ndim)
        if magic != expected:
            raise DatasetError(f"{name}: magic number {_describe(magic)}, expected "
                               f"{_describe(expected)}")
    sizes = bytes(_read_up_to(stream, 4 * rank))
    if len(sizes) < 4 * rank:
        raise DatasetError(f"{name}: truncated IDX header ({4 + len(sizes)} bytes, the magic "
                           f"number promises {4 + 4 * rank})")
    shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))
    return DTYPES[code], shape, 4 + 4 * rank


def _parse(stream, name, dtype, ndim, file_size=None):
    value_type, shape, header_bytes = _parse_header(stream, name, dtype, ndim)
    count = 1
    for size in shape:
        count *= size
    expected_bytes = count * value_type.itemsize
    if file_size is not None and file_size - header_bytes < expected_bytes:
        _raise_truncated(name, shape, value_type, expected_bytes, file_size - header_bytes)
    if file_size is not None and file_size - header_bytes > expected_bytes:
        _raise_extra(name, shape, expected_bytes, file_size - header_bytes - expected_bytes)
    # Read in chunks, never allocated up front: gzip data shows its real length only
    # as it is decompressed.
    data = _read_up_to(stream, expected_bytes)
    if len(data) < expected_bytes:
        _raise_truncated(name, shape, value_type, expected_bytes, len(data))
    extra = _count_trailing(stream)
    if extra:
        _raise_extra(name, shape, expected_bytes, extra)
    array = np.frombuffer(data, dtype=value_type, count=count).reshape(shape)
    if value_type.itemsize > 1:
        array = array.astype(value_type.newbyteorder("="))
    return array


def _raise_truncated(name, shape, value_type, expected_bytes, found):
    raise DatasetError(f"{name}: truncated: shape {shape} of {value_type.newbyteorder('=').name} "
                       f"needs {expected_bytes} data bytes, found {found}")


def _raise_extra(name, shape, expected_bytes, extra):
    raise DatasetError(f"{name}: {extra} extra bytes after the {expected_bytes} data bytes of "
                       f"shape {shape} (wrong header or concatenated files?)")


def _count_trailing(stream):
    extra = 0
    while extra < _TRAILING_LIMIT:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return extra
        extra += len(chunk)
    return f"more than {extra}"


def write_idx(path, array):
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: array must have 1 to 255 dimensions, got {array.ndim}")
    if any(size >= 1 << 32 for size in array.shape):
        raise ValueError(f"write_idx: every dimension must be below 2**32, got {array.shape}")
    magic = magic_number(array.dtype, array.ndim)
    code = (magic >> 8) & 0xFF
    header = magic.to_bytes(4, "big") + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    name = os.fspath(path)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(name, "wb") as f:
        f.write(header)
        f.write(payload)
