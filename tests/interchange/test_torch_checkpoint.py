"""cunn.load reads PyTorch checkpoints (torch.save's zip format) without PyTorch, and
refuses, without running anything, every pickle global besides data containers and
tensor rebuilders."""
import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

import cunn
import cunn.nn as nn

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_small_cnn.pt")


def small_cnn():
    """fixtures/make_torch_checkpoint.py's network, in cunn."""
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 4))


def check_checkpoint(loaded, expected=None):
    assert set(loaded) == {"model", "input", "output", "extras"}
    state = loaded["model"]
    assert isinstance(state, collections.OrderedDict)
    assert list(state) == ["0.weight", "0.bias", "4.weight", "4.bias", "6.weight", "6.bias"]
    assert all(isinstance(value, cunn.Tensor) and value.dtype == np.float32
               for value in state.values())
    model = small_cnn()
    model.load_state_dict(state)
    model.eval()
    with cunn.no_grad():
        predicted = model(loaded["input"]).numpy()
    np.testing.assert_allclose(predicted, loaded["output"].numpy(), rtol=1e-5, atol=1e-6)
    extras = loaded["extras"]
    assert isinstance(extras, collections.OrderedDict)
    assert extras["epoch"] == 7 and extras["lr"] == 0.125 and extras["name"] == "small cnn"
    assert extras["nothing"] is None and extras["flag"] is True
    assert extras["milestones"] == [1, 2, 3] and extras["shape"] == (2, 3)
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(extras["transposed"].numpy(), base.T)
    np.testing.assert_array_equal(extras["rows"].numpy(), base[1:])
    assert extras["labels"].dtype == np.int64
    np.testing.assert_array_equal(extras["labels"].numpy(), np.arange(5))
    assert extras["double"].dtype == np.float64
    np.testing.assert_array_equal(extras["double"].numpy(), [0.5, -1.25, 1e-300, 3.0])
    if expected is not None:
        for key, value in expected["model"].items():
            np.testing.assert_array_equal(state[key].numpy(), value.numpy())
        np.testing.assert_array_equal(loaded["output"].numpy(), expected["output"].numpy())


def test_committed_fixture_loads_and_predicts_as_pytorch_did():
    check_checkpoint(cunn.load(FIXTURE))


def test_checkpoint_written_by_pytorch_now(tmp_path):
    pytest.importorskip("torch", reason="PyTorch writes the checkpoint in this test")
    from interchange.fixtures.make_torch_checkpoint import make

    path = str(tmp_path / "fresh.pt")
    expected = make(path, seed=3)
    check_checkpoint(cunn.load(path), expected)


def test_loaded_state_dict_gives_pytorchs_predictions_on_new_inputs(tmp_path):
    torch = pytest.importorskip("torch", reason="the oracle")
    from interchange.fixtures.make_torch_checkpoint import torch_small_cnn

    torch.manual_seed(5)
    reference = torch_small_cnn().eval()
    path = str(tmp_path / "state.pt")
    torch.save(reference.state_dict(), path)
    model = small_cnn()
    model.load_state_dict(cunn.load(path))
    model.eval()
    inputs = np.random.default_rng(1).standard_normal((37, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(inputs)).numpy()
    with cunn.no_grad():
        np.testing.assert_allclose(model(inputs).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_bfloat16_and_half_tensors_load(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch writes the checkpoint in this test")
    values = torch.tensor([1.5, -2.25, 3.0e3, 0.0])
    path = str(tmp_path / "low.pt")
    torch.save({"bf16": values.to(torch.bfloat16), "half": values.half()}, path)
    loaded = cunn.load(path)
    assert loaded["bf16"].dtype == np.float32
    np.testing.assert_array_equal(loaded["bf16"].numpy(),
                                  values.to(torch.bfloat16).float().numpy())
    assert loaded["half"].dtype == np.float16
    np.testing.assert_array_equal(loaded["half"].numpy(), values.half().numpy())


# ---- hostile files ----

def write_archive(path, pickle_bytes, storages=()):
    """A zip in torch.save's layout around ``pickle_bytes``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
        for key, data in storages:
            archive.writestr(f"archive/data/{key}", data)


class RunsCommand:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def hostile_pickles(marker):
    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    yield "os.system", pickle.dumps(RunsCommand(os.system, command), protocol=2)
    yield "builtins.eval", pickle.dumps(RunsCommand(eval, code), protocol=4)
    yield "builtins.exec", pickle.dumps({"weights": [RunsCommand(exec, code)]}, protocol=2)
    # posix.system by hand: GLOBAL, the argument, TUPLE1, REDUCE.
    yield "posix.system", (b"\x80\x02cposix\nsystem\nX" + len(command).to_bytes(4, "little")
                           + command.encode() + b"\x85R.")
    # Hidden where a storage type belongs, inside a well-formed tensor record.
    yield "subprocess.getoutput", (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
        b"csubprocess\ngetoutput\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00)"
        b")\x89tR.")


@pytest.mark.parametrize("refused", ["os.system", "builtins.eval", "builtins.exec",
                                           "posix.system", "subprocess.getoutput"])
def test_code_in_a_checkpoint_is_refused_and_never_runs(tmp_path, refused):
    marker = tmp_path / "ran"
    pickles = dict(hostile_pickles(marker))
    path = tmp_path / "evil.pt"
    write_archive(path, pickles[refused])
    with pytest.raises(cunn.UnpicklingError) as raised:
        cunn.load(str(path))
    # The message names the global as the pickle spells it (os.system is posix.system).
    assert refused.rpartition(".")[2] in str(raised.value) and "nothing from the file was run" in str(raised.value)
    assert not marker.exists()


def test_the_hostile_pickles_do_run_code_when_unpickled_plainly(tmp_path):
    """Proves the refusals above refuse something real."""
    marker = tmp_path / "ran"
    for name, data in hostile_pickles(marker):
        if name in ("os.system", "posix.system"):
            pickle.loads(data)
            assert marker.exists()
            marker.unlink()


def test_unpickling_error_is_pickles():
    assert issubclass(cunn.UnpicklingError, pickle.UnpicklingError)


def test_state_on_a_tensor_is_refused(tmp_path):
    # A well-formed tensor record followed by BUILD with a dict.
    tensor = (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
              b"FloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00)"
              b")\x89tR")
    path = tmp_path / "state.pt"
    write_archive(path, b"\x80\x02" + tensor + b"}X\x01\x00\x00\x00aK\x01sb.",
                  [("0", np.float32(2.0).tobytes())])
    with pytest.raises(cunn.UnpicklingError, match="state on a tensor"):
        cunn.load(str(path))
    write_archive(path, b"\x80\x02" + tensor + b".", [("0", np.float32(2.0).tobytes())])
    loaded = cunn.load(str(path))
    assert loaded.shape == () and float(loaded) == 2.0


@pytest.mark.parametrize("size, stride, offset", [((5,), (1,), 0), ((2,), (4,), 0),
                                                  ((1,), (1,), 4), ((2,), (-1,), 1)])
def test_tensor_outside_its_storage_is_refused(tmp_path, size, stride, offset):
    def small_tuple(values):
        return b"(" + b"".join(b"J" + value.to_bytes(4, "little", signed=True)
                               for value in values) + b"t"
    data = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
            b"FloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
            + b"J" + offset.to_bytes(4, "little") + small_tuple(size) + small_tuple(stride)
            + b"\x89tR.")
    path = tmp_path / "outside.pt"
    write_archive(path, data, [("0", np.zeros(4, np.float32).tobytes())])
    with pytest.raises(ValueError, match="stride|reaches past"):
        cunn.load(str(path))


def test_storage_of_the_wrong_length_is_refused(tmp_path):
    data = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
            b"FloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01"
            b"\x85\x89tR.")
    path = tmp_path / "short.pt"
    write_archive(path, data, [("0", np.zeros(3, np.float32).tobytes())])
    with pytest.raises(ValueError, match="holds 12 bytes"):
        cunn.load(str(path))


def test_cunn_checkpoints_still_load_as_before(tmp_path):
    path = str(tmp_path / "own.pt")
    cunn.save({"w": np.ones(3, np.float32), "step": 2}, path)
    loaded = cunn.load(path)
    assert loaded["step"] == 2
    np.testing.assert_array_equal(np.asarray(loaded["w"]), np.ones(3, np.float32))


def test_checkpoint_from_a_file_object():
    import io

    from cunn._formats import loader_for

    with open(FIXTURE, "rb") as file:
        buffer = io.BytesIO(file.read())
    buffer.seek(0)
    reader = loader_for(buffer)
    assert reader is not None and buffer.tell() == 0
    check_checkpoint(reader(buffer))
    buffer.seek(0)
    check_checkpoint(cunn.load(buffer))
    assert loader_for(io.BytesIO(b"not a zip")) is None
