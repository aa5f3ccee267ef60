"""cunn.utils.tensorboard.SummaryWriter: what it logs, TensorBoard's own reader reads back."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import cunn
from interchange.subprocess_env import child_environment

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard extra (writer and reader) is not installed")

from cunn.utils.tensorboard import SummaryWriter  # noqa: E402


def read(folder):
    accumulator = event_accumulator.EventAccumulator(
        str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_scalars_read_back_step_by_step(tmp_path):
    losses = [2.5, 1.25, 0.625, 0.3125]
    with SummaryWriter(tmp_path) as writer:
        for step, loss in enumerate(losses):
            writer.add_scalar("train/loss", cunn.tensor(loss), step)
            writer.add_scalar("lr", 0.1 * (step + 1), global_step=step, walltime=1000.0 + step)
    events = read(tmp_path)
    assert [(event.step, event.value) for event in events.Scalars("train/loss")] == \
        list(enumerate(losses))
    learning_rates = events.Scalars("lr")
    np.testing.assert_allclose([event.value for event in learning_rates], [0.1, 0.2, 0.3, 0.4],
                               rtol=1e-7)
    assert [event.wall_time for event in learning_rates] == [1000.0, 1001.0, 1002.0, 1003.0]


def test_add_scalars_makes_one_run_per_tag_as_pytorch(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step in range(3):
        writer.add_scalars("accuracy", {"train": 90.0 + step, "test": np.float32(80 + step)}, step)
    writer.close()
    for tag, first in (("train", 90.0), ("test", 80.0)):
        events = read(tmp_path / f"accuracy_{tag}").Scalars("accuracy")
        assert [(event.step, event.value) for event in events] == \
            [(0, first), (1, first + 1), (2, first + 2)]


def test_histogram_summarises_the_values(tmp_path):
    values = np.random.default_rng(0).standard_normal(1001).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("fc1.weight", cunn.from_numpy(values), 7)
    (event,) = read(tmp_path).Histograms("fc1.weight")
    histogram = event.histogram_value
    assert event.step == 7 and histogram.num == values.size
    assert histogram.min == pytest.approx(values.min()) and histogram.max == pytest.approx(values.max())
    assert histogram.sum == pytest.approx(values.astype(np.float64).sum(), abs=1e-3)
    assert histogram.sum_squares == pytest.approx((values.astype(np.float64) ** 2).sum(), rel=1e-6)
    assert sum(histogram.bucket) == values.size


def test_image_round_trips_through_png(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="decoding the PNG needs Pillow")
    pixels = np.random.default_rng(1).integers(0, 256, (3, 5, 7)).astype(np.uint8)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("sample", cunn.from_numpy(pixels.astype(np.float32) / 255.0), 2)
        writer.add_image("hwc", pixels.transpose(1, 2, 0), 3, dataformats="HWC")
    events = read(tmp_path)
    for tag in ("sample", "hwc"):
        (event,) = events.Images(tag)
        assert (event.width, event.height) == (7, 5)
        decoded = np.asarray(image.open(io.BytesIO(event.encoded_image_string)))
        np.testing.assert_array_equal(decoded, pixels.transpose(1, 2, 0))


def test_text_reads_back(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "lr **0.1**, batch 64", 4)
    (event,) = read(tmp_path).Tensors("notes/text_summary")
    assert event.step == 4
    assert event.tensor_proto.string_val == [b"lr **0.1**, batch 64"]


def test_flush_makes_events_readable_before_close(tmp_path):
    writer = SummaryWriter(tmp_path, flush_secs=3600)
    writer.add_scalar("loss", 1.5, 0)
    writer.flush()
    assert [event.value for event in read(tmp_path).Scalars("loss")] == [1.5]
    writer.close()


def test_default_log_dir_follows_pytorch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_mlp")
    writer.close()
    assert os.path.dirname(writer.get_logdir()) == "runs"
    assert writer.get_logdir().endswith("_mlp") and os.path.isdir(writer.log_dir)


@pytest.mark.parametrize("call, error", [
    (lambda w: w.add_scalar(3, 1.0), TypeError),
    (lambda w: w.add_scalar("loss", np.ones(2)), ValueError),
    (lambda w: w.add_scalar("loss", "high"), TypeError),
    (lambda w: w.add_scalars("acc", [1.0]), TypeError),
    (lambda w: w.add_histogram("h", np.zeros(0)), ValueError),
    (lambda w: w.add_image("i", np.zeros((4, 4)), dataformats="CHW"), ValueError),
    (lambda w: w.add_image("i", np.zeros((2, 4, 4)), dataformats="CHW"), ValueError),
    (lambda w: w.add_histogram("h", [1.0, float("nan")]), ValueError),
    (lambda w: w.add_text("t", 5), TypeError),
])
def test_bad_arguments_name_the_method(tmp_path, call, error):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(error, match="add_"):
            call(writer)


def test_missing_package_names_the_extra(tmp_path):
    script = ("import sys; sys.modules['tensorboard'] = None\n"
              "from cunn.utils.tensorboard import SummaryWriter\n"
              "try:\n"
              f"    SummaryWriter({str(tmp_path)!r})\n"
              "except ImportError as error:\n"
              "    print(error)\n")
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=child_environment(), timeout=120)
    assert 'pip install "cunn[tensorboard]"' in finished.stdout, finished.stderr


@pytest.mark.parametrize("bins, max_bins", [("tensorflow", None), (10, None), ("auto", 4),
                                            (13, 4), ([-1.0, 0.0, 0.5, 3.0], None)])
def test_histogram_buckets_are_pytorchs(tmp_path, bins, max_bins):
    pytest.importorskip("torch", reason="the oracle")
    from torch.utils.tensorboard import summary as torch_summary
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    values = np.random.default_rng(3).standard_normal(257)
    with SummaryWriter(tmp_path / "cunn") as writer:
        writer.add_histogram("h", values, 1, bins=bins, max_bins=max_bins)
    (event,) = read(tmp_path / "cunn").Histograms("h")
    edges = bins
    if bins == "tensorflow":  # PyTorch's writer holds TensorFlow's bucket edges
        torch_writer = TorchWriter(tmp_path / "torch")
        edges = torch_writer.default_bins
        torch_writer.close()
    expected = torch_summary.histogram("h", values, edges, max_bins=max_bins).value[0].histo
    assert event.histogram_value.bucket == list(expected.bucket)
    np.testing.assert_array_equal(event.histogram_value.bucket_limit, expected.bucket_limit)
    assert (event.histogram_value.num, event.histogram_value.sum_squares) == \
        (expected.num, expected.sum_squares)
