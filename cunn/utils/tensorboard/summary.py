"""Summary records (TensorBoard's ``Summary`` protocol buffer) for one value each, made
from NumPy arrays as torch.utils.tensorboard makes them: scalars as simple values,
histograms as bucketed HistogramProtos, images as PNG, text for the text plugin.
``protos`` is the namespace writer.py loads from the tensorboard package."""
import io

import numpy as np

__all__ = ["scalar", "histogram", "image", "text"]


def _tensorflow_bucket_edges():
    """TensorFlow's default histogram buckets (the ones PyTorch's bins="tensorflow" means):
    edges growing by 10% from 1e-12 to 1e20, mirrored for negatives, with 0 between."""
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return [-value for value in reversed(positive)] + [0.0] + positive


_TENSORFLOW_EDGES = None


def scalar(protos, tag, value):
    return protos.Summary(value=[protos.Summary.Value(tag=tag, simple_value=value)])


def histogram(protos, tag, values, bins, max_bins):
    """``values`` (float64, not empty) counted into ``bins`` (np.histogram's argument, or
    "tensorflow"); empty buckets at either end are left out, as PyTorch does."""
    global _TENSORFLOW_EDGES
    if isinstance(bins, str) and bins == "tensorflow":
        if _TENSORFLOW_EDGES is None:
            _TENSORFLOW_EDGES = np.array(_tensorflow_bucket_edges())
        bins = _TENSORFLOW_EDGES
    values = values.reshape(-1)
    counts, edges = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        # Merge each run of len(counts) // max_bins neighbouring buckets, as PyTorch.
        group = len(counts) // max_bins
        counts = np.pad(counts, (0, (-len(counts)) % group)).reshape(-1, group).sum(axis=1)
        edges = np.append(edges[:-1:group], edges[-1])
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        raise ValueError("add_histogram: no value falls inside the given bins")
    # TensorBoard keeps only right bucket edges: an empty bucket ending where the first
    # counted one begins (edges[first]) keeps that left edge in the drawing.
    first, last = occupied[0], occupied[-1] + 1
    counts = np.concatenate([[0], counts])[first:last + 1]
    limits = edges[first:last + 1]
    proto = protos.HistogramProto(
        min=float(values.min()), max=float(values.max()), num=int(values.size),
        sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
        bucket_limit=limits.tolist(), bucket=counts.astype(np.float64).tolist())
    return protos.Summary(value=[protos.Summary.Value(tag=tag, histo=proto)])


def _as_hwc_bytes(array, dataformats):
    """(H, W, C) uint8 with C in 1, 3, 4: floats are taken as [0, 1] and scaled by 255."""
    if dataformats == "HW":
        array = array[:, :, None]
    elif dataformats == "CHW":
        array = array.transpose(1, 2, 0)
    if array.shape[2] not in (1, 3, 4):
        raise ValueError(f"add_image: an image needs 1, 3 or 4 channels, got {array.shape[2]}")
    if array.dtype != np.uint8:
        array = np.clip(np.asarray(array, np.float64) * 255.0, 0, 255).round().astype(np.uint8)
    return array


def image(protos, tag, array, dataformats):
    from PIL import Image  # a dependency of the tensorboard package

    pixels = _as_hwc_bytes(array, dataformats)
    height, width, channels = pixels.shape
    encoded = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(encoded, format="PNG")
    proto = protos.Summary.Image(height=height, width=width, colorspace=channels,
                                 encoded_image_string=encoded.getvalue())
    return protos.Summary(value=[protos.Summary.Value(tag=tag, image=proto)])


def text(protos, tag, text_string):
    """A one-element string tensor for the text plugin, under ``<tag>/text_summary``."""
    metadata = protos.SummaryMetadata(plugin_data=protos.SummaryMetadata.PluginData(
        plugin_name="text", content=protos.TextPluginData(version=0).SerializeToString()))
    tensor = protos.TensorProto(
        dtype=protos.DT_STRING, string_val=[text_string.encode("utf-8")],
        tensor_shape=protos.TensorShapeProto(dim=[protos.TensorShapeProto.Dim(size=1)]))
    return protos.Summary(value=[protos.Summary.Value(tag=tag + "/text_summary",
                                                      metadata=metadata, tensor=tensor)])
