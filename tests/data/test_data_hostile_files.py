"""IDX/MNIST files that lie: labels outside the classes, empty images, headers claiming
far more than the file holds (refused before anything that size is allocated); failed
lookups and downloads leave no folders behind."""
import gzip
import os
import tracemalloc

import numpy as np
import pytest

from cunn.data import DatasetError, mnist, write_idx
from cunn.data.download import fetch
from cunn.data.idx import read_idx, read_idx_header
from data_helpers import closed_port_url, make_idx_folder


@pytest.mark.parametrize("bad_label", [10, 200, 255])
def test_labels_outside_the_classes_name_the_file_and_the_first_bad_index(tmp_path, bad_label):
    make_idx_folder(tmp_path)
    labels = np.array([1, 2, 3, bad_label, 4, 11, 0], np.uint8)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DatasetError, match=rf"train-labels-idx1-ubyte: label {bad_label} at "
                                           r"index 3 is not a class index \(expected 0 to 9\)"):
        mnist.load(root=tmp_path, download=False)
    with pytest.raises(DatasetError, match="index 3"):
        mnist.MNIST(root=tmp_path, train=True, download=False)


@pytest.mark.parametrize("shape", [(0, 0), (28, 0), (0, 28)])
def test_images_without_pixels_are_refused(tmp_path, shape):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5,) + shape, np.uint8))
    with pytest.raises(DatasetError, match=rf"t10k-images-idx3-ubyte declares images of shape "
                                           rf"\({shape[0]}, {shape[1]}\)"):
        mnist.load(root=tmp_path, download=False)


def test_a_small_gz_claiming_200_million_labels_is_refused_before_reading(tmp_path):
    # The probe's 194 KB file held the 2*10^8 zero labels too (3 GB once widened to int64
    # and copied); the header alone says they do not match the 7 images, so no data is read
    # and the test can leave the zeros out.
    make_idx_folder(tmp_path)
    count = 200_000_000
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write((0x801).to_bytes(4, "big") + count.to_bytes(4, "big"))
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="holds 7 images but .* holds 200000000 labels"):
            mnist.load(root=tmp_path, download=False)
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()


def test_a_header_larger_than_the_plain_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "claims"
    path.write_bytes((0x801).to_bytes(4, "big") + (3_000_000_000).to_bytes(4, "big") + bytes(9))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="truncated: shape \\(3000000000,\\) of uint8 "
                                               "needs 3000000000 data bytes, found 9"):
            read_idx(path)
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()


def test_a_gz_shorter_than_its_header_fails_at_its_real_length(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress((0x801).to_bytes(4, "big") + (2 ** 31).to_bytes(4, "big")
                                   + bytes(1000)))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="needs 2147483648 data bytes, found 1000"):
            read_idx(path)
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()


def test_read_idx_header_reads_only_the_header(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((3, 4, 5), np.uint8))
    dtype, shape = read_idx_header(tmp_path / "x.gz", dtype=np.uint8, ndim=3)
    assert dtype == np.uint8 and shape == (3, 4, 5)
    with pytest.raises(DatasetError, match="magic number"):
        read_idx_header(tmp_path / "x.gz", dtype=np.uint8, ndim=1)


def test_a_failed_download_into_a_new_root_leaves_no_folder(tmp_path):
    root = tmp_path / "does" / "not" / "exist"
    with pytest.raises(FileNotFoundError, match="download failed"):
        mnist.load(root=root, download=True, timeout=2.0, progress=False)
    assert not (tmp_path / "does").exists()
    with pytest.raises(FileNotFoundError):
        mnist.MNIST(root=root, download=True, timeout=2.0, progress=False)
    assert os.listdir(tmp_path) == []


def test_a_failed_default_run_leaves_no_empty_cache_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        mnist.load(download=True, timeout=2.0, progress=False)
    assert not (tmp_path / "xdg-cache").exists()


def test_a_failed_fetch_keeps_folders_that_existed(tmp_path):
    existing = tmp_path / "data"
    existing.mkdir()
    with pytest.raises(FileNotFoundError):
        fetch("x.gz", existing / "new", "0" * 64, [closed_port_url()], timeout=2.0,
              progress=False)
    assert existing.is_dir() and os.listdir(existing) == []


def test_the_download_bar_stays_out_of_files_and_pipes(tmp_path, http_server, capfd):
    pytest.importorskip("tqdm")
    import hashlib

    base, served = http_server
    (served / "bar").mkdir(exist_ok=True)
    content = bytes(range(256)) * 4000
    (served / "bar" / "blob.gz").write_bytes(gzip.compress(content))
    fetch("blob.gz", tmp_path / "target", hashlib.sha256(content).hexdigest(), [base + "bar/"],
          timeout=5.0, progress=True)
    captured = capfd.readouterr()
    assert "\r" not in captured.err + captured.out
