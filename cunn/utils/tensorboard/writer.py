"""SummaryWriter: PyTorch's torch.utils.tensorboard.SummaryWriter for cunn values, on the
tensorboard package's EventFileWriter (which queues events, writes them from a thread
and, on ``flush``, waits until everything queued is on disk)."""
import numbers
import os
import socket
import time
import types
from datetime import datetime

import numpy as np

from cunn.utils.tensorboard import summary

__all__ = ["SummaryWriter"]

_protos = None


def _load_protos():
    """The tensorboard package's pieces, imported on the first writer."""
    global _protos
    if _protos is None:
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
            from tensorboard.compat.proto import tensor_shape_pb2, types_pb2
            from tensorboard.plugins.text import plugin_data_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError as error:
            raise ImportError("cunn.utils.tensorboard needs the optional package "
                              'tensorboard: pip install "cunn[tensorboard]"') from error
        _protos = types.SimpleNamespace(
            Event=event_pb2.Event, Summary=summary_pb2.Summary,
            HistogramProto=summary_pb2.HistogramProto, SummaryMetadata=summary_pb2.SummaryMetadata,
            TensorProto=tensor_pb2.TensorProto, TensorShapeProto=tensor_shape_pb2.TensorShapeProto,
            DT_STRING=types_pb2.DT_STRING, TextPluginData=plugin_data_pb2.TextPluginData,
            EventFileWriter=EventFileWriter)
    return _protos


def _array(op, name, value):
    from cunn._tensor import Tensor

    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        return np.asarray(value)
    raise TypeError(f"{op}: {name} must be a Tensor, a NumPy array or a number, "
                    f"got {type(value).__name__}")


def _real_array(op, name, value):
    array = _array(op, name, value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must hold real numbers, got dtype {array.dtype}")
    return array


def _scalar(op, value):
    array = _real_array(op, "scalar_value", value)
    if array.size != 1:
        raise ValueError(f"{op}: scalar_value must be one number, got shape {array.shape}")
    return float(array.reshape(()))


def _tag(op, tag, name="tag"):
    if not isinstance(tag, str):
        raise TypeError(f"{op}: {name} must be a str, got {type(tag).__name__}")
    return tag


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (default
    ``runs/<date>_<host><comment>``, as PyTorch). Each ``add_*`` takes an optional
    ``global_step`` (int) and ``walltime`` (seconds since the epoch, default now)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        self._protos = _load_protos()
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self._options = {"max_queue_size": max_queue, "flush_secs": flush_secs,
                         "filename_suffix": filename_suffix}
        self._writers = {}  # folder -> EventFileWriter: log_dir, and add_scalars' runs
        self._writer(self.log_dir)

    def _writer(self, folder):
        writer = self._writers.get(folder)
        if writer is None:
            writer = self._writers[folder] = self._protos.EventFileWriter(folder, **self._options)
            if self.purge_step is not None:
                # TensorBoard drops the events at or after this step from earlier runs.
                writer.add_event(self._protos.Event(step=self.purge_step,
                                                    file_version="brain.Event:2"))
        return writer

    def _add(self, summary_proto, global_step, walltime, folder=None):
        event = self._protos.Event(summary=summary_proto,
                                   wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        self._writer(self.log_dir if folder is None else folder).add_event(event)

    def get_logdir(self):
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        self._add(summary.scalar(self._protos, _tag("add_scalar", tag),
                                 _scalar("add_scalar", scalar_value)), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves in one chart: each ``tag`` is its own run, in the folder
        ``<log_dir>/<main_tag>_<tag>``, logged under the chart's tag ``main_tag``."""
        _tag("add_scalars", main_tag, "main_tag")
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(f"add_scalars: tag_scalar_dict must be a dict of tag to value, "
                            f"got {type(tag_scalar_dict).__name__}")
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir,
                                  main_tag.replace("/", "_") + "_" + _tag("add_scalars", tag))
            self._add(summary.scalar(self._protos, main_tag, _scalar("add_scalars", value)),
                      global_step, walltime, folder)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """``bins``: "tensorflow" (TensorFlow's default buckets) or anything np.histogram takes."""
        array = _real_array("add_histogram", "values", values).astype(np.float64)
        if array.size == 0:
            raise ValueError("add_histogram: values must not be empty")
        if not np.isfinite(array).all():
            raise ValueError("add_histogram: values must be finite (got nan or inf)")
        self._add(summary.histogram(self._protos, _tag("add_histogram", tag), array, bins,
                                    max_bins), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """``img_tensor``: floats in [0, 1] or uint8, laid out as ``dataformats`` says
        ("CHW", "HWC" or "HW")."""
        array = _real_array("add_image", "img_tensor", img_tensor)
        if dataformats not in ("CHW", "HWC", "HW"):
            raise ValueError(f"add_image: dataformats must be 'CHW', 'HWC' or 'HW', "
                             f"got {dataformats!r}")
        if array.ndim != len(dataformats):
            raise ValueError(f"add_image: img_tensor of shape {array.shape} does not match "
                             f"dataformats={dataformats!r}")
        self._add(summary.image(self._protos, _tag("add_image", tag), array, dataformats),
                  global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        if not isinstance(text_string, str):
            raise TypeError(f"add_text: text_string must be a str, got "
                            f"{type(text_string).__name__}")
        self._add(summary.text(self._protos, _tag("add_text", tag), text_string),
                  global_step, walltime)

    def flush(self):
        """Returns once every event added so far is on disk."""
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
