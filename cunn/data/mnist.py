"""MNIST (and IDX drop-ins such as Fashion-MNIST): finding, downloading, loading, Dataset.

Where the files are looked for:

* ``root`` given: that folder; missing files are downloaded into it (``download=True``).
* no ``root``: ``$CUNN_DATA/mnist`` if it holds all four files, else the user cache
  ``$XDG_CACHE_HOME/cunn/mnist`` (default ``~/.cache/cunn/mnist``), downloading the missing
  files there.

Each file may be plain or gzip (``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``).
Local files are read as they are; downloads are checked against the SHA-256 of the original
MNIST files. Mirrors come from the ``mirrors`` argument, else the ``CUNN_MNIST_MIRRORS``
environment variable (comma-separated base URLs), else ``DEFAULT_MIRRORS``.

Errors: ``FileNotFoundError`` when the files are missing and cannot be obtained (download
off, or every mirror unreachable) — the message says where cunn looked and how to provide
them; ``DatasetError`` when a file is corrupt or inconsistent, or a download fails its
checksum (nothing is left behind then).
"""
import collections
import operator
import os
import threading

import numpy as np

from cunn._tensor import from_numpy
from cunn._backends import current as current_backend
from cunn.data.dataset import Dataset, check_index
from cunn.data.download import fetch
from cunn.data.idx import DatasetError, read_idx, read_idx_header
from cunn.data.transforms import Compose, Flatten, Normalize, ToTensor, apply_batch

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = SPLITS["train"] + SPLITS["test"]
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
           "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

_HOW_TO_PROVIDE = (
    "Provide the four IDX files (plain or .gz) in one of two ways: pass root=FOLDER "
    "(the examples' --data FOLDER option) naming the folder that holds them, or set the "
    "CUNN_DATA environment variable to a folder whose mnist/ subfolder holds them.")


def cache_dir():
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/cunn/mnist`` or
    ``~/.cache/cunn/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore relative paths
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cunn", "mnist")


def mirrors_in_use(mirrors=None):
    """The base URLs downloads try, in order: ``mirrors``, else ``$CUNN_MNIST_MIRRORS``
    (comma-separated), else ``DEFAULT_MIRRORS``."""
    if mirrors is None:
        from_env = os.environ.get("CUNN_MNIST_MIRRORS", "")
        mirrors = [url for url in from_env.split(",") if url.strip()] or DEFAULT_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    result = []
    for url in mirrors:
        url = str(url).strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"mnist: mirrors must be http:// or https:// base URLs, got {url!r}")
        result.append(url if url.endswith("/") else url + "/")
    return result


def _find_file(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _missing(folder):
    return [name for name in FILES if _find_file(folder, name) is None]


def locate(root=None, download=True, *, mirrors=None, progress=True, timeout=30.0):
    """The folder holding the four MNIST files, downloading missing ones if allowed."""
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"mnist: root must be a path or None, got {type(root).__name__}")
        folder = os.fspath(root)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(f"mnist: root must be a folder, got the file {folder}")
        looked = [f"root={folder!r}"]
    else:
        folder = cache_dir()
        data = os.environ.get("CUNN_DATA")
        if data:
            candidate = os.path.join(data, "mnist")
            missing = _missing(candidate)
            if not missing:
                return candidate
            looked = [f"$CUNN_DATA/mnist = {candidate} (missing {', '.join(missing)})"]
        else:
            looked = ["$CUNN_DATA (not set)"]
        looked.append(f"the user cache {folder}")
    missing = _missing(folder)
    if not missing:
        return folder
    where = "; ".join(looked)
    if not download:
        raise FileNotFoundError(
            f"mnist: missing {', '.join(missing)} (looked in {where}) and download=False. "
            + _HOW_TO_PROVIDE + " Or allow download=True.")
    urls = mirrors_in_use(mirrors)
    for name in missing:
        try:
            fetch(name + ".gz", folder, SHA256[name], urls, timeout=timeout, progress=progress)
        except DatasetError as err:
            raise DatasetError(f"mnist: downloading into {folder} failed: {err}\n"
                               + _HOW_TO_PROVIDE) from err
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"mnist: missing {name} (looked in {where}) and the download failed: {err}\n"
                + _HOW_TO_PROVIDE) from err
    return folder


# Decoded splits, keyed by the files' identity (path, size, mtime) so that an edited file
# is read again. Arrays in it are read-only; load() hands out copies.
_cache = collections.OrderedDict()
_cache_lock = threading.Lock()
_CACHE_ENTRIES = 4


def _read_split(folder, split):
    image_path, label_path = (_find_file(folder, name) for name in SPLITS[split])
    for name, path in zip(SPLITS[split], (image_path, label_path)):
        if path is None:
            raise FileNotFoundError(f"mnist: {os.path.join(folder, name)}[.gz] does not exist")
    key = []
    for path in (image_path, label_path):
        status = os.stat(path)
        key.append((os.path.realpath(path), status.st_size, status.st_mtime_ns))
    key = tuple(key)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    _check_headers(image_path, label_path)
    images = read_idx(image_path, dtype=np.uint8, ndim=3)
    labels = read_idx(label_path, dtype=np.uint8, ndim=1)
    _check_labels(label_path, labels)
    labels = labels.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    with _cache_lock:
        _cache[key] = (images, labels)
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return images, labels


def _check_headers(image_path, label_path):
    """Refuses inconsistent files from their headers alone, before any data is read (a
    small .gz may claim 2*10^8 labels beside 60000 images)."""
    _, image_shape = read_idx_header(image_path, dtype=np.uint8, ndim=3)
    _, label_shape = read_idx_header(label_path, dtype=np.uint8, ndim=1)
    if 0 in image_shape[1:]:
        raise DatasetError(f"mnist: {image_path} declares images of shape {image_shape[1:]}; "
                           "images need at least one row and one column")
    if image_shape[0] != label_shape[0]:
        raise DatasetError(f"mnist: {image_path} holds {image_shape[0]} images but "
                           f"{label_path} holds {label_shape[0]} labels")


def _check_labels(label_path, labels):
    """Every label must name one of the classes: an out-of-range label would only fail
    later, inside a loss, without naming the file."""
    bad = labels >= len(CLASSES)
    if bad.any():
        index = int(bad.argmax())
        raise DatasetError(f"mnist: {label_path}: label {int(labels[index])} at index {index} "
                           f"is not a class index (expected 0 to {len(CLASSES) - 1})")


def load(root=None, download=True, *, mirrors=None, progress=True, timeout=30.0):
    """``(x_train, y_train), (x_test, y_test)``: images uint8 (N, 28, 28), labels int64 (N,).

    See the module docstring for where the files are looked for and which errors mean what.
    ``mirrors`` (base URLs) overrides where downloads come from, ``progress`` shows a
    progress bar (tqdm, if installed), ``timeout`` bounds each network operation (seconds).
    Each call returns fresh writable arrays.
    """
    folder = locate(root, download, mirrors=mirrors, progress=progress, timeout=timeout)
    result = []
    for split in ("train", "test"):
        images, labels = _read_split(folder, split)
        result.append((images.copy(), labels.copy()))
    return tuple(result)


def _fused_plan(transform):
    """``(mean, std, flatten)`` when ``transform`` is ToTensor, or Compose of ToTensor, at most
    one single-channel Normalize and optionally a Flatten, in that order; else None.

    Those transforms are then computed by the backend's fused ``normalize_images``, which
    gives the same bits ((x / 255 - mean) / std in float32; mean 0, std 1 without Normalize
    is exact). Exact types only: a subclass may change what a step does.
    """
    steps = transform.transforms if type(transform) is Compose else [transform]
    if not steps or type(steps[0]) is not ToTensor:
        return None
    mean, std, rest = 0.0, 1.0, list(steps[1:])
    if rest and type(rest[0]) is Normalize:
        normalize = rest.pop(0)
        if len(normalize.mean) != 1 or len(normalize.std) != 1:
            return None
        mean, std = float(normalize.mean[0]), float(normalize.std[0])
    flatten = bool(rest) and type(rest[0]) is Flatten
    if flatten:
        rest.pop(0)
    return None if rest else (mean, std, flatten)


def _plan_key(transform):
    # The transform and, for a Compose (whose list can be edited), its steps: held, so that
    # compared by identity they cannot be confused with new objects at a reused address.
    if type(transform) is Compose:
        return (transform,) + tuple(transform.transforms)
    return (transform,)


def _same_objects(first, second):
    return len(first) == len(second) and all(map(operator.is_, first, second))


class MNIST(Dataset):
    """MNIST as a Dataset of ``(image, label)``.

    ``root``, ``download`` as for ``load``. ``dataset[i]`` is ``(transform(image), label)``
    with ``label`` a Python int; without a transform the image is the raw uint8 (28, 28)
    array (use ``transforms.ToTensor``). ``get_batch`` gathers a batch with one indexing
    operation and applies the transform once to the whole batch (ToTensor, optionally
    followed by one single-channel Normalize and a Flatten, runs as the backend's fused
    ``normalize_images``: same bits, one pass). ``data`` (uint8) and ``targets`` (int64)
    are read-only arrays shared with the loader's cache.
    """

    classes = CLASSES

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True, **download_options):
        for name, value in (("transform", transform), ("target_transform", target_transform)):
            if value is not None and not callable(value):
                raise TypeError(f"MNIST: {name} must be callable or None, got "
                                f"{type(value).__name__}")
        folder = locate(root, download, **download_options)
        self.root = folder
        self.train = bool(train)
        self.data, self.targets = _read_split(folder, "train" if self.train else "test")
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        index = check_index(index, len(self), "MNIST")
        image, label = self.data[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _plan(self):
        """The fused plan for the current transform, decided once per transform object
        (``self.transform`` may be reassigned, a Compose's list edited)."""
        key = _plan_key(self.transform)
        cached = getattr(self, "_plan_cache", None)
        if cached is None or not _same_objects(cached[0], key):
            cached = (key, _fused_plan(self.transform))
            self._plan_cache = cached
        return cached[1]

    def get_batch(self, indices):
        data = np.asarray(self.data)  # cunn.vision's subclass holds a Tensor
        if (self.transform is not None and isinstance(data, np.ndarray) and data.ndim == 3
                and data.dtype == np.uint8 and data.flags.c_contiguous):
            indices = np.asarray(indices)
            plan = self._plan() if indices.dtype == np.int64 and indices.ndim == 1 else None
            if plan is not None:
                mean, std, flatten = plan
                try:
                    images = current_backend().normalize_images(data, indices, mean, std)
                except ValueError:
                    images = None  # e.g. negative indices: the generic path's np.take semantics
                if images is not None:
                    rows, height, width = images.shape
                    shape = (rows, height * width) if flatten else (rows, 1, height, width)
                    labels = np.take(self.targets, indices)
                    if self.target_transform is not None:
                        labels = apply_batch(self.target_transform, labels)
                    return from_numpy(images.reshape(shape)), labels
        # np.take gathers whole rows: about half the time of fancy indexing on a 3-D array.
        images, labels = np.take(data, indices, axis=0), np.take(self.targets, indices)
        if self.transform is not None:
            images = apply_batch(self.transform, images)
        if self.target_transform is not None:
            labels = apply_batch(self.target_transform, labels)
        return images, labels

    def __repr__(self):
        split = "train" if self.train else "test"
        return (f"MNIST(split={split!r}, items={len(self)}, root={self.root!r}, "
                f"transform={self.transform!r})")
