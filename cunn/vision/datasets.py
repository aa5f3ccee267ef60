"""MNIST and FashionMNIST in torchvision's layout: the four IDX files (plain or .gz) in
``root/MNIST/raw/`` or ``root/FashionMNIST/raw/``, downloaded there from public mirrors
(SHA-256 of the decompressed files checked, progress bar) when ``download=True``.

``.data`` is a uint8 Tensor (N, 28, 28), ``.targets`` an int64 Tensor; an item is
``(image, label)`` with an int label and, without a transform, the image as a uint8 NumPy
(28, 28) array (torchvision gives a PIL image; cunn has no PIL). Batches go through the
same fused path as ``cunn.data.MNIST``.
"""
import os

import numpy as np

from cunn._tensor import Tensor
from cunn.data import mnist as _mnist
from cunn.data.dataset import check_index
from cunn.data.download import fetch
from cunn.data.idx import DatasetError

__all__ = ["MNIST", "FashionMNIST"]

FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)


class MNIST(_mnist.MNIST):
    """``MNIST(root, train=True, transform=None, target_transform=None, download=False)``.

    ``mirrors`` (base URLs; default ``$CUNN_MNIST_MIRRORS`` or the public ones), ``progress``
    and ``timeout`` tune downloads. A missing file without ``download`` raises
    ``FileNotFoundError``; a corrupt one ``cunn.data.DatasetError``.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    checksums = _mnist.SHA256
    default_mirrors = None  # mirrors_in_use(None): $CUNN_MNIST_MIRRORS or MNIST's mirrors

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False, *, mirrors=None, progress=True, timeout=30.0):
        for name, value in (("transform", transform), ("target_transform", target_transform)):
            if value is not None and not callable(value):
                raise TypeError(f"{type(self).__name__}: {name} must be callable or None, got "
                                f"{type(value).__name__}")
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"{type(self).__name__}: root must be a path, got "
                            f"{type(root).__name__}")
        self.root = os.path.expanduser(os.fspath(root))
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download(mirrors=mirrors, progress=progress, timeout=timeout)
        missing = _mnist._missing(self.raw_folder)
        if missing:
            raise FileNotFoundError(
                f"{type(self).__name__}: dataset not found: missing {', '.join(missing)} in "
                f"{self.raw_folder}. Use download=True to download it, or put the four IDX "
                "files (plain or .gz) there.")
        images, labels = _mnist._read_split(self.raw_folder, "train" if self.train else "test")
        self.data, self.targets = Tensor(images), Tensor(labels)

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self):
        return {name: index for index, name in enumerate(self.classes)}

    def download(self, mirrors=None, progress=True, timeout=30.0):
        """Fetch the files missing from ``raw_folder``."""
        urls = _mnist.mirrors_in_use(self.default_mirrors if mirrors is None else mirrors)
        for name in _mnist._missing(self.raw_folder):
            try:
                fetch(name + ".gz", self.raw_folder, self.checksums[name], urls,
                      timeout=timeout, progress=progress)
            except DatasetError as err:
                raise DatasetError(f"{type(self).__name__}: downloading into "
                                   f"{self.raw_folder} failed: {err}") from err
            except FileNotFoundError as err:
                raise FileNotFoundError(f"{type(self).__name__}: downloading {name} into "
                                        f"{self.raw_folder} failed: {err}") from err

    def __getitem__(self, index):
        index = check_index(index, len(self), type(self).__name__)
        image, label = np.asarray(self.data)[index], int(np.asarray(self.targets)[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}",
                 f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append("    StandardTransform\n    Transform: "
                         + repr(self.transform).replace("\n", "\n    "))
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, the same IDX layout and API as ``MNIST``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    checksums = FASHION_SHA256
    default_mirrors = FASHION_MIRRORS
