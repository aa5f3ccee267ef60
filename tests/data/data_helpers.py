"""Helpers shared by the cunn.data tests (imported by name: tests/data is on sys.path)."""
import os
import socket

import numpy as np
import pytest

from cunn.data import mnist, write_idx

# Captured before the isolation fixture clears it: where the real MNIST files live, if anywhere.
REAL_DATA = os.environ.get("CUNN_DATA")


def real_mnist_folder():
    """The folder with the real MNIST .gz files, or skip the test."""
    folder = os.path.join(REAL_DATA, "mnist") if REAL_DATA else None
    if folder is None or any(not os.path.isfile(os.path.join(folder, name + ".gz"))
                             for name in mnist.FILES):
        pytest.skip("real MNIST files not found: set CUNN_DATA to a folder whose mnist/ holds "
                    "the four .gz files (e.g. CUNN_DATA=/work/shared/data)")
    return folder


def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def make_idx_folder(folder, train=7, test=5, gz=False, seed=0, shape=(28, 28)):
    """Write a small MNIST-layout folder of random images/labels; returns the arrays."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for split, count in (("train", train), ("test", test)):
        images = rng.integers(0, 256, size=(count,) + shape, dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        image_name, label_name = mnist.SPLITS[split]
        suffix = ".gz" if gz else ""
        write_idx(os.path.join(folder, image_name + suffix), images)
        write_idx(os.path.join(folder, label_name + suffix), labels)
        arrays[split] = (images, labels.astype(np.int64))
    return arrays
