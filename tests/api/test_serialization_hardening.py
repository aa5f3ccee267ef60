"""cunn.load on hostile files: every damaged file raises CorruptFileError naming the file
and the key, sizes are checked before anything is allocated, zip CRCs are verified;
cunn.save leaves nothing behind when killed; file objects and PyTorch's keywords."""
import io
import json
import os
import signal
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest

import cunn
from cunn import _atomic_write
from cunn.serialization import CorruptFileError, load, save

from python_process import _PACKAGE_PARENT


def npy_bytes(array=None, header=None):
    """A .npy file: ``array``'s bytes after its own header, or after ``header``."""
    buffer = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buffer, array)
        return buffer.getvalue()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + (b"" if array is None else np.ascontiguousarray(array).tobytes())


def manifest_array(root):
    text = json.dumps({"format": "cunn", "version": 1, "root": root}).encode()
    return np.frombuffer(text, np.uint8)


def manifest_bytes(root):
    return npy_bytes(manifest_array(root))


def zip_bytes(members):
    """A zip of (name, data, method, crc, size) members written field by field, so that
    tests can make the sizes and CRCs lie; ``data`` is already compressed for method 8."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, data, method, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data),
                              size, len(encoded), 0) + encoded + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0,
                                  crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, offset)
                      + encoded)
    directory = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                      len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


def stored(name, data):
    return (name, data, 0, zlib.crc32(data), len(data))


def checkpoint_with(entry, path):
    """A checkpoint whose key 'w' refers to the raw .npy bytes ``entry``."""
    root = {"t": "dict", "items": [["w", {"t": "array", "entry": "a0"}]]}
    path.write_bytes(zip_bytes([stored("a0.npy", entry),
                                stored("__cunn_manifest__.npy", manifest_bytes(root))]))
    return path


def test_a_header_that_lies_about_the_shape_is_refused(tmp_path):
    # The probe's edit: (128, 784) -> (128, 384) with a valid CRC loaded a prefix silently.
    weights = np.arange(128 * 784, dtype=np.float32).reshape(128, 784)
    entry = npy_bytes(weights)
    assert entry.count(b"784)") == 1
    path = checkpoint_with(entry.replace(b"784)", b"384)"), tmp_path / "edited")
    with pytest.raises(CorruptFileError, match=r"edited.*at \['w'\].*shape \(128, 384\) of "
                                               r"float32 \(196608 bytes\) but stores 401408"):
        load(path)


def test_the_probes_header_edit_in_a_real_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save({"fc1.weight": np.ones((128, 784), np.float32)}, path)
    data = path.read_bytes()
    assert data.count(b"784)") == 1
    path.write_bytes(data.replace(b"784)", b"384)"))
    with pytest.raises(CorruptFileError) as caught:
        load(path)
    assert caught.value.file == str(path) and caught.value.key == "['fc1.weight']"
    assert isinstance(caught.value, ValueError)


def test_a_flipped_data_byte_fails_the_crc(tmp_path):
    path = tmp_path / "model.pt"
    save({"w": np.zeros(1000, np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"\x00" * 400) + 200] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"at \['w'\].*CRC"):
        load(path)


def test_a_header_claiming_a_trillion_floats_is_refused_before_allocating(tmp_path):
    header = {"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)}
    path = checkpoint_with(npy_bytes(np.zeros(4, np.float32), header), tmp_path / "huge")
    tracemalloc.start()
    try:
        with pytest.raises(CorruptFileError, match=r"4000000000000 bytes\) but stores 16"):
            load(path)
        assert tracemalloc.get_traced_memory()[1] < 32 << 20
    finally:
        tracemalloc.stop()


def test_zip_sizes_beyond_the_file_are_refused(tmp_path):
    name, data, method, crc, _ = stored("a0.npy", npy_bytes(np.zeros(4, np.float32)))
    path = tmp_path / "sizes"
    root = {"t": "dict", "items": [["w", {"t": "array", "entry": "a0"}]]}
    path.write_bytes(zip_bytes([(name, data, method, crc, 4_000_000_000),
                                stored("__cunn_manifest__.npy", manifest_bytes(root))]))
    with pytest.raises(CorruptFileError, match="stored uncompressed but claims 4000000000 "):
        load(path)


def deflate_bomb(megabytes, declared_megabytes=None):
    """An .npy entry whose deflate stream holds ``megabytes`` MiB of zeros (~1000:1: each
    1 MiB block is compressed once and repeated, as after a full flush a block stands
    alone); its header, zip size and CRC describe ``declared_megabytes`` MiB of them."""
    declared_megabytes = megabytes if declared_megabytes is None else declared_megabytes
    header = npy_bytes(header={"descr": "<f4", "fortran_order": False,
                               "shape": (declared_megabytes << 18,)})
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    chunk = bytes(1 << 20)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = head + block * megabytes + compressor.flush()
    crc = zlib.crc32(header)
    for _ in range(declared_megabytes):
        crc = zlib.crc32(chunk, crc)
    return ("a0.npy", stream, 8, crc, len(header) + (declared_megabytes << 20))


def bomb_checkpoint(path, bomb):
    root = {"t": "dict", "items": [["w", {"t": "array", "entry": "a0"}]]}
    path.write_bytes(zip_bytes([bomb, stored("__cunn_manifest__.npy", manifest_bytes(root))]))
    return path


def test_a_deflate_bomb_is_refused_before_allocating(tmp_path):
    bomb = deflate_bomb(300)
    assert len(bomb[1]) < 400_000 and bomb[4] > 300_000_000  # ~1000:1
    path = bomb_checkpoint(tmp_path / "bomb", bomb)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptFileError, match=r"bomb.*at \['w'\].*would expand"):
            load(path)
        assert tracemalloc.get_traced_memory()[1] < 32 << 20
    finally:
        tracemalloc.stop()


def test_a_deflate_stream_is_never_inflated_past_its_declared_size(tmp_path):
    # 300 MiB in the stream, 4 MiB (within the limits) declared by the zip and .npy headers
    # and the CRC: exactly the declared zeros load, and nothing more is inflated.
    path = bomb_checkpoint(tmp_path / "liar", deflate_bomb(300, declared_megabytes=4))
    tracemalloc.start()
    try:
        loaded = load(path)["w"]
        assert tracemalloc.get_traced_memory()[1] < 64 << 20
    finally:
        tracemalloc.stop()
    assert loaded.shape == (1 << 20,) and not loaded.numpy().any()


def test_a_deflate_stream_shorter_than_declared_is_refused(tmp_path):
    name, stream, method, crc, size = deflate_bomb(4, declared_megabytes=8)
    path = bomb_checkpoint(tmp_path / "short", (name, stream, method, crc, size))
    with pytest.raises(CorruptFileError, match=r"at \['w'\]"):
        load(path)


def test_compressed_checkpoints_within_the_limits_load(tmp_path):
    weights = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    root = {"t": "dict", "items": [["w", {"t": "array", "entry": "a0"}]]}
    path = tmp_path / "compressed"
    np.savez_compressed(path, a0=weights,
                        __cunn_manifest__=manifest_array(root))
    os.replace(str(path) + ".npz", path)
    np.testing.assert_array_equal(load(path)["w"].numpy(), weights)


def sample_checkpoint():
    return {"model": {"fc.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                      "fc.bias": np.array([1.5, -2.0, 0.25], np.float32)},
            "epoch": 3, "name": "mlp", "labels": np.arange(5, dtype=np.int64)}


def same(loaded, expected):
    if isinstance(expected, dict):
        return isinstance(loaded, dict) and list(loaded) == list(expected) and all(
            same(loaded[key], expected[key]) for key in expected)
    if isinstance(expected, np.ndarray):
        return isinstance(loaded, cunn.Tensor) and loaded.dtype == expected.dtype and \
            loaded.shape == expected.shape and np.array_equal(loaded.numpy(), expected)
    return type(loaded) is type(expected) and loaded == expected


def test_every_single_byte_corruption_gives_the_data_or_corrupt_file_error(tmp_path):
    path = tmp_path / "ckpt"
    expected = sample_checkpoint()
    save(expected, path)
    original = path.read_bytes()
    rng = np.random.default_rng(14)
    positions = list(range(len(original)))
    for position in positions:
        data = bytearray(original)
        data[position] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        try:
            loaded = load(path)
        except CorruptFileError as error:
            assert str(path) in str(error)
            continue
        # Bytes no reader looks at (zip comments, version fields, padding) may change freely.
        assert same(loaded, expected), f"byte {position} changed the loaded data silently"


def test_truncations_at_every_length_raise_corrupt_file_error(tmp_path):
    path = tmp_path / "ckpt"
    save(sample_checkpoint(), path)
    original = path.read_bytes()
    for length in range(0, len(original), 7):
        path.write_bytes(original[:length])
        with pytest.raises(CorruptFileError):
            load(path)


# ---- writes that leave nothing behind ----

_KILLED_SAVE = """
import os, sys, time
import numpy as np
import cunn
def stall(handle):
    print("writing", flush=True)
    time.sleep(120)
os.fsync = stall
cunn.save({"version": np.full(100000, 2.0, np.float32)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="anonymous files are Linux-only")
def test_a_save_killed_mid_write_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "ckpt"
    save({"version": np.ones(3, np.float32)}, path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [_PACKAGE_PARENT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                             if p])}
    child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path)], env=env,
                             cwd=tmp_path.parent, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path) == ["ckpt"]
    np.testing.assert_array_equal(load(path)["version"].numpy(), np.ones(3, np.float32))


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="anonymous files are Linux-only")
def test_linux_writes_go_through_an_anonymous_file(tmp_path, monkeypatch):
    linked = []
    real_link = os.link

    def spy(source, target, *args, **kwargs):
        linked.append((source, os.listdir(tmp_path)))
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(_atomic_write.os, "link", spy)
    save({"a": 1}, tmp_path / "x")
    assert len(linked) == 1 and linked[0][0].startswith("/proc/self/fd/")
    assert linked[0][1] == []  # nothing had a name while the data was written
    assert os.listdir(tmp_path) == ["x"] and load(tmp_path / "x") == {"a": 1}


def test_without_anonymous_files_a_named_temporary_is_used_and_cleaned(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    path = tmp_path / "ckpt"
    save({"v": 1}, path)
    assert load(path) == {"v": 1} and os.listdir(tmp_path) == ["ckpt"]

    def crash(file, **entries):
        file.write(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save({"v": 2}, path)
    monkeypatch.undo()
    assert load(path) == {"v": 1} and os.listdir(tmp_path) == ["ckpt"]


def test_a_missing_folder_names_the_folder_not_a_temporary(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as caught:
        save({"a": 1}, tmp_path / "missing" / "ckpt")
    assert ".tmp" not in str(caught.value) and "missing" in str(caught.value)
    assert os.listdir(tmp_path) == []


# ---- file objects and PyTorch's keywords ----

def test_bytes_io_and_open_files_round_trip(tmp_path):
    expected = sample_checkpoint()
    buffer = io.BytesIO()
    save(expected, buffer)
    buffer.seek(0)
    assert same(load(buffer), expected)
    with open(tmp_path / "f", "wb") as file:
        save(expected, file)
    with open(tmp_path / "f", "rb") as file:
        assert same(load(file), expected)
    assert same(load(tmp_path / "f"), expected)


def test_a_stream_that_cannot_seek_is_read_from_where_it_is(tmp_path):
    buffer = io.BytesIO()
    save({"w": np.ones(2, np.float32)}, buffer)

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(b"junk" + data)
            self.data.read(4)

        def readable(self):
            return True

        def readinto(self, target):
            chunk = self.data.read(len(target))
            target[:len(chunk)] = chunk
            return len(chunk)

    np.testing.assert_array_equal(load(Stream(buffer.getvalue()))["w"].numpy(), np.ones(2))


def test_text_files_and_corrupt_buffers_are_refused(tmp_path):
    with open(tmp_path / "t", "w") as file:
        with pytest.raises(TypeError, match="binary mode"):
            save({}, file)
    with pytest.raises(CorruptFileError, match="<BytesIO>"):
        load(io.BytesIO(b"PK\x03\x04garbage"))


@pytest.mark.parametrize("map_location", [None, "cpu", cunn.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, location: storage])
def test_load_accepts_pytorchs_keywords(tmp_path, map_location):
    save({"w": np.ones(2, np.float32)}, tmp_path / "k")
    for weights_only in (True, False):
        loaded = load(tmp_path / "k", map_location=map_location, weights_only=weights_only)
        np.testing.assert_array_equal(loaded["w"].numpy(), np.ones(2))


def test_bad_keywords_are_refused(tmp_path):
    save({}, tmp_path / "k")
    # Whatever cunn.device's rule for an absent device is (API.md: RuntimeError).
    with pytest.raises((ValueError, RuntimeError), match="cuda"):
        load(tmp_path / "k", map_location="cuda")
    with pytest.raises(TypeError, match="map_location"):
        load(tmp_path / "k", map_location=3)
    with pytest.raises(TypeError, match="weights_only"):
        load(tmp_path / "k", weights_only="yes")


def test_state_dicts_of_tensors_round_trip_into_a_model(tmp_path):
    cunn.manual_seed(0)
    model = cunn.nn.Sequential(cunn.nn.Linear(4, 3), cunn.nn.ReLU(), cunn.nn.Linear(3, 2))
    state = {key: cunn.tensor(np.asarray(value)) for key, value in model.state_dict().items()}
    buffer = io.BytesIO()
    save({"model": state}, buffer)
    buffer.seek(0)
    restored = cunn.nn.Sequential(cunn.nn.Linear(4, 3), cunn.nn.ReLU(), cunn.nn.Linear(3, 2))
    restored.load_state_dict(load(buffer, map_location="cpu", weights_only=True)["model"])
    x = cunn.randn(5, 4)
    np.testing.assert_array_equal(restored(x).numpy(), model(x).numpy())
