"""cunn.save / cunn.load: round trips, the on-disk format, atomic writes, bad input."""
import collections
import json
import math
import os

import numpy as np
import pytest

import cunn
from cunn.serialization import load, save


def state_dict():
    rng = np.random.default_rng(0)
    return collections.OrderedDict([
        ("fc2.weight", rng.standard_normal((10, 128)).astype(np.float32)),
        ("fc1.weight", rng.standard_normal((128, 784)).astype(np.float32)),
        ("fc1.bias", rng.standard_normal(128).astype(np.float32)),
        ("0.bias", np.zeros(0, np.float32)),
    ])


def assert_same_tree(actual, expected):
    if not isinstance(expected, np.ndarray):
        assert type(actual) is type(expected), (type(actual), type(expected))
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert type(next(k for k in actual if k == key)) is type(key)
            assert_same_tree(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, b in zip(actual, expected):
            assert_same_tree(a, b)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, cunn.Tensor)  # loaded arrays are Tensors, as in PyTorch
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual.numpy(), expected)
    elif isinstance(expected, float):
        assert (math.isnan(actual) and math.isnan(expected)) or (
            actual == expected and math.copysign(1, actual) == math.copysign(1, expected))
    else:
        assert actual == expected


def test_state_dict_round_trip_keeps_order_dtype_and_shape(tmp_path):
    path = tmp_path / "model.pt"
    original = state_dict()
    save(original, path)
    assert os.listdir(tmp_path) == ["model.pt"]  # exactly that name, no temporary left
    assert_same_tree(load(path), original)
    assert_same_tree(load(str(path)), original)


def test_checkpoint_with_everything(tmp_path):
    checkpoint = {
        "model": state_dict(),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones((2, 2), np.float32)},
                                7: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "nesterov": False,
                                        "params": [0, 7]}]},
        "epoch": 12, "big": 2 ** 80, "negative": -5, "ratio": 0.1, "nan": float("nan"),
        "inf": float("inf"), "-inf": float("-inf"), "minus zero": -0.0, "tiny": 5e-324,
        "flag": True, "off": False, "nothing": None, "name": "naïve ✓ \"quoted\"\n",
        "empty": {}, "empty list": [], "nested": [[1, [2.5, "x"]], (None,)],
        "int64": np.arange(6, dtype=np.int64).reshape(2, 3), "bool": np.array([True, False]),
        "uint8": np.arange(3, dtype=np.uint8), "float64": np.array(np.pi),
        "float16": np.ones(3, np.float16), "complex": np.array([1 + 2j]),
        "strings": np.array(["a", "bcd"]), "fortran": np.asfortranarray(np.ones((2, 3))),
        "scalar": np.float32(2.5), "int scalar": np.int64(-4),
    }
    save(checkpoint, tmp_path / "ckpt")
    loaded = load(tmp_path / "ckpt")
    assert_same_tree(loaded, checkpoint)
    assert type(loaded["scalar"]) is np.float32


def test_tensors_and_arrays_load_back_as_tensors(tmp_path):
    tensor = cunn.from_numpy(np.arange(4, dtype=np.float32))
    save({"w": tensor, "a": np.ones((2, 3), np.int64)}, tmp_path / "t")
    loaded = load(tmp_path / "t")
    assert type(loaded["w"]) is cunn.Tensor and type(loaded["a"]) is cunn.Tensor
    assert not loaded["w"].requires_grad and loaded["a"].dtype == np.int64
    np.testing.assert_array_equal(loaded["w"].numpy(), np.arange(4, dtype=np.float32))
    cloned = {key: value.clone() for key, value in loaded.items()}  # PyTorch idiom
    assert cloned["a"].shape == (2, 3)


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "plain"
    save({"a": np.ones(3, np.float32), "b": 2}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert "__cunn_manifest__" in archive.files
        manifest = json.loads(archive["__cunn_manifest__"].tobytes().decode("utf-8"))
        entry = manifest["root"]["items"][0][1]["entry"]
        np.testing.assert_array_equal(archive[entry], np.ones(3, np.float32))
    assert manifest["format"] == "cunn" and manifest["version"] == 1


def test_overwrite_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "x"
    save({"v": 1}, path)
    os.chmod(path, 0o640)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["x"]


def test_crash_mid_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save({"version": "old"}, path)
    before = path.read_bytes()

    def crash(file, **entries):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save({"version": "new"}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt"]
    monkeypatch.undo()
    assert load(path) == {"version": "old"}


def test_crash_before_rename_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save({"version": "old"}, path)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"version": "new"}, path)
    monkeypatch.undo()
    assert load(path) == {"version": "old"}
    assert os.listdir(tmp_path) == ["ckpt"]


def test_unstorable_objects_raise_type_error_naming_the_key(tmp_path):
    path = tmp_path / "never"
    with pytest.raises(TypeError, match=r"function at \['model'\]\['hook'\]"):
        save({"model": {"hook": lambda x: x}}, path)

    class Custom:
        pass

    with pytest.raises(TypeError, match=r"Custom at \['state'\]\[0\]\[1\]"):
        save({"state": {0: [1, Custom()]}}, path)
    with pytest.raises(TypeError, match=r"dtype object at \['bad'\]"):
        save({"bad": np.array([1, "a", None], dtype=object)}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="set"):
        save({"s": {1, 2}}, path)
    with pytest.raises(TypeError, match="bytes"):
        save({"s": b"raw"}, path)
    recursive = {}
    recursive["self"] = recursive
    with pytest.raises(ValueError, match="contains itself"):
        save(recursive, path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent")


def test_files_that_are_not_checkpoints(tmp_path):
    random_bytes = tmp_path / "random"
    random_bytes.write_bytes(np.random.default_rng(0).integers(0, 256, 1000, np.uint8).tobytes())
    with pytest.raises(cunn.CorruptFileError, match="not a valid cunn checkpoint: not an .npz"):
        load(random_bytes)

    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(cunn.CorruptFileError, match="not an .npz/zip archive"):
        load(npy)

    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.ones(3))
    with pytest.raises(cunn.CorruptFileError, match="without a __cunn_manifest__ entry"):
        load(plain)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __cunn_manifest__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(cunn.CorruptFileError, match="has dtype object"):
        load(pickled)

    good = tmp_path / "good"
    save(state_dict(), good)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        truncated = tmp_path / f"truncated{cut}"
        truncated.write_bytes(data[:cut])
        with pytest.raises(cunn.CorruptFileError, match="not a valid cunn checkpoint"):
            load(truncated)


def write_manifest(path, manifest, **arrays):
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    with open(path, "wb") as file:
        np.savez(file, __cunn_manifest__=np.frombuffer(text.encode(), np.uint8), **arrays)


@pytest.mark.parametrize("manifest, message", [
    ("{not json", "unreadable manifest"),
    ({"format": "other", "version": 1, "root": {"t": "none"}}, "does not describe"),
    ({"format": "cunn", "version": 99, "root": {"t": "none"}}, "version 99"),
    ({"format": "cunn", "version": 1, "root": {"t": "code", "v": "import os"}},
     "unknown node type"),
    ({"format": "cunn", "version": 1, "root": {"t": "array", "entry": "a9"}},
     "missing array entry"),
    ({"format": "cunn", "version": 1, "root": {"t": "dict", "items": [[1.5, {"t": "none"}]]}},
     "malformed dict item"),
    ({"format": "cunn", "version": 1, "root": {"t": "int", "v": "7"}}, "int node"),
    ({"format": "cunn", "version": 1, "root": {"t": "list"}}, "without items"),
    ("[" * 100000 + "]" * 100000, "not a valid cunn checkpoint"),
])
def test_corrupt_manifests(tmp_path, manifest, message):
    path = tmp_path / "bad"
    write_manifest(path, manifest)
    with pytest.raises(cunn.CorruptFileError, match=message):
        load(path)


def test_path_types(tmp_path):
    with pytest.raises(TypeError, match="path must be"):
        save({}, 3)
    with pytest.raises(TypeError, match="path must be"):
        load(None)
    save({"a": 1}, os.fsencode(str(tmp_path / "bytes_path")))
    assert load(str(tmp_path / "bytes_path")) == {"a": 1}
    with pytest.raises(FileNotFoundError):
        save({"a": 1}, tmp_path / "no_such_dir" / "file")
