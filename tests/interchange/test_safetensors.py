"""cunn.save / cunn.load with a .safetensors path: the same bytes as the safetensors
package's NumPy (and PyTorch) writers, read back as Tensors."""
import collections
import os
import subprocess
import sys

import numpy as np
import pytest

import cunn
import cunn.nn as nn
from interchange.subprocess_env import child_environment

safetensors_numpy = pytest.importorskip("safetensors.numpy",
                                        reason="the safetensors extra is not installed")


def arrays():
    rng = np.random.default_rng(0)
    return collections.OrderedDict([
        ("fc2.weight", rng.standard_normal((10, 7)).astype(np.float32)),
        ("fc1.weight", rng.standard_normal((7, 13)).astype(np.float32)),
        ("fc1.bias", rng.standard_normal(7).astype(np.float32)),
        ("empty", np.zeros((0, 3), np.float32)),
        ("steps", np.arange(5, dtype=np.int64)),
        ("double", rng.standard_normal(3)),
        ("scalar", np.array(2.5, np.float32)),
        ("mask", np.array([True, False])),
        ("half", np.array([1.5, -2.0], np.float16)),
    ])


def test_bytes_match_the_packages_numpy_writer(tmp_path):
    path = tmp_path / "m.safetensors"
    cunn.save(arrays(), str(path))
    assert path.read_bytes() == safetensors_numpy.save(arrays())
    reference = tmp_path / "reference.safetensors"
    safetensors_numpy.save_file(arrays(), str(reference))
    assert path.read_bytes() == reference.read_bytes()


def test_round_trip_as_tensors(tmp_path):
    path = str(tmp_path / "m.safetensors")
    tensors = {key: cunn.from_numpy(value) for key, value in arrays().items()}
    cunn.save(tensors, path)
    loaded = cunn.load(path)
    assert set(loaded) == set(arrays())
    for key, value in arrays().items():
        assert isinstance(loaded[key], cunn.Tensor)
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key].numpy(), value)
    loaded["fc1.bias"].numpy()[0] = 1.0  # writable, so it can be trained further


def test_files_the_package_writes_load(tmp_path):
    path = str(tmp_path / "theirs.safetensors")
    safetensors_numpy.save_file(arrays(), path, metadata={"format": "np"})
    loaded = cunn.load(path)
    for key, value in arrays().items():
        np.testing.assert_array_equal(loaded[key].numpy(), value)
    # And what cunn writes, the package reads.
    cunn.save(loaded, path)
    for key, value in safetensors_numpy.load_file(path).items():
        np.testing.assert_array_equal(value, arrays()[key])


def test_model_state_dict_round_trip_predicts_the_same(tmp_path):
    cunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    path = str(tmp_path / "model.safetensors")
    cunn.save(model.state_dict(), path)
    other = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    other.load_state_dict(cunn.load(path))
    inputs = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(other(inputs).numpy(), model(inputs).numpy())


def test_non_contiguous_values_store_their_contents(tmp_path):
    path = str(tmp_path / "t.safetensors")
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    cunn.save({"t": matrix.T}, path)
    np.testing.assert_array_equal(cunn.load(path)["t"].numpy(), matrix.T)


def test_torch_reads_and_writes_the_same_files(tmp_path):
    torch = pytest.importorskip("torch", reason="the PyTorch side of the interchange")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = str(tmp_path / "m.safetensors")
    cunn.save(arrays(), path)
    expected = {key: torch.from_numpy(value.copy()) for key, value in arrays().items()}
    assert open(path, "rb").read() == safetensors_torch.save(expected)
    for key, value in safetensors_torch.load_file(path).items():
        np.testing.assert_array_equal(value.numpy(), arrays()[key])


@pytest.mark.parametrize("bad, error", [
    ([np.ones(2)], "flat dict"),
    ({"w": np.ones(2), "epoch": 3}, "Tensors or NumPy arrays"),
    ({"nested": {"w": np.ones(2)}}, "Tensors or NumPy arrays"),
    ({1: np.ones(2)}, "keys must be str"),
])
def test_what_the_format_cannot_hold_is_a_type_error(tmp_path, bad, error):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=error):
        cunn.save(bad, str(path))
    assert not path.exists() and os.listdir(tmp_path) == []


def test_corrupt_file_is_a_value_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\xff" * 8 + b"{not json")
    with pytest.raises(ValueError, match="not a valid .safetensors file"):
        cunn.load(str(path))
    with pytest.raises(FileNotFoundError):
        cunn.load(str(tmp_path / "missing.safetensors"))


def test_missing_package_names_the_extra(tmp_path):
    script = (
        "import sys; sys.modules['safetensors'] = None\n"
        "import cunn, numpy as np\n"
        "try:\n"
        f"    cunn.save({{'w': np.ones(2, np.float32)}}, {str(tmp_path / 'm.safetensors')!r})\n"
        "except ImportError as error:\n"
        "    print(error)\n")
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=child_environment(), timeout=120)
    assert 'pip install "cunn[safetensors]"' in finished.stdout, finished.stderr


def test_import_cunn_loads_no_optional_package():
    script = ("import sys, cunn\n"
              "print(sorted(name for name in ('safetensors', 'onnx', 'onnxruntime', 'tensorboard',"
              " 'tensorboardX', 'torch', 'google.protobuf') if name in sys.modules))")
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120)
    assert finished.stdout.strip() == "[]", finished.stderr
