"""IDX reader/writer: round trips for every IDX dtype, and every kind of damage rejected with
DatasetError naming the file (never a short array)."""
import gzip

import numpy as np
import pytest

from cunn.data import DatasetError, read_idx, write_idx
from cunn.data.idx import magic_number

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _header(magic, shape):
    return magic.to_bytes(4, "big") + np.asarray(shape, dtype=">u4").tobytes()


def _write(path, data):
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 5), (1, 1, 1, 7)])
def test_round_trip(tmp_path, dtype, suffix, shape):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, array)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


def test_known_bytes_big_endian(tmp_path):
    # int16 values 1 and -2, big-endian, after magic 0x00000B01 and one dimension of 2.
    path = _write(tmp_path / "x", bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE]))
    np.testing.assert_array_equal(read_idx(path), np.array([1, -2], dtype=np.int16))
    assert magic_number(np.uint8, 3) == 0x803 and magic_number(np.uint8, 1) == 0x801


def test_gzip_detected_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "l.gz", labels)
    renamed = tmp_path / "labels-without-suffix"
    renamed.write_bytes((tmp_path / "l.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(renamed), labels)


def test_empty_dimension_is_valid(tmp_path):
    write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("data, problem", [
    (b"", "too short"),
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01\x07", "two zero bytes"),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01\x07", "unknown IDX data type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "truncated IDX header"),
    (_header(0x803, (2, 2, 2)) + bytes(7), "truncated: shape (2, 2, 2) of uint8 needs 8 data bytes, found 7"),
    (_header(0x801, (4,)) + bytes(5), "1 extra bytes"),
    (_header(0xD01, (2,)) + bytes(7), "needs 8 data bytes, found 7"),
])
def test_damaged_files_rejected(tmp_path, suffix, data, problem):
    path = _write(tmp_path / f"damaged{suffix}", data)
    with pytest.raises(DatasetError, match="damaged") as info:
        read_idx(path)
    assert problem in str(info.value)


def test_huge_header_on_tiny_file_is_truncation_not_memory_error(tmp_path):
    path = _write(tmp_path / "huge", _header(0x803, (60000, 60000, 60000)) + bytes(100))
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)


def test_expected_magic(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(3, np.uint8))
    write_idx(tmp_path / "ints", np.zeros((3, 2, 2), np.int32))
    assert read_idx(tmp_path / "labels", dtype=np.uint8, ndim=1).shape == (3,)
    with pytest.raises(DatasetError, match=r"labels: magic number 0x00000801 .*expected 0x00000803"):
        read_idx(tmp_path / "labels", dtype=np.uint8, ndim=3)
    with pytest.raises(DatasetError, match=r"0x00000c03 \(int32, 3 dimensions\), expected "
                                           r"0x00000803 \(uint8"):
        read_idx(tmp_path / "ints", dtype=np.uint8, ndim=3)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(_header(0x801, (1000,)) + bytes(range(256)) * 4)
    truncated = _write(tmp_path / "cut.gz", b"")
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="cut.gz: corrupt gzip data"):
        read_idx(truncated)
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flip.gz").write_bytes(bytes(flipped))
    with pytest.raises(DatasetError, match="flip.gz"):
        read_idx(tmp_path / "flip.gz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")


def test_write_rejects_unsupported(tmp_path):
    with pytest.raises(TypeError, match="dtype"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.zeros((), np.uint8))
