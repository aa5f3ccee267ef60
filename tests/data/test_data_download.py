"""Downloads against a local HTTP server on 127.0.0.1 only (never the internet): checksum
verification, no file left behind on failure, mirror fallback, progress bar."""
import gzip
import hashlib
import os
import shutil
import sys
import types

import numpy as np
import pytest

from cunn.data import DatasetError, mnist
from cunn.data.download import fetch
from data_helpers import closed_port_url, real_mnist_folder

TIMEOUT = 5.0


def _publish(folder, sub, name, content):
    """Serve gzip(content) as sub/name; returns the SHA-256 of content."""
    os.makedirs(folder / sub, exist_ok=True)
    (folder / sub / name).write_bytes(gzip.compress(content))
    return hashlib.sha256(content).hexdigest()


def _leftovers(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_fetch_verifies_and_writes_atomically(tmp_path, http_server):
    base, served = http_server
    digest = _publish(served, "good", "blob.gz", b"hello idx" * 1000)
    target = tmp_path / "target"
    path = fetch("blob.gz", target, digest, [base + "good/"], timeout=TIMEOUT, progress=False)
    assert path == str(target / "blob.gz")
    assert gzip.decompress((target / "blob.gz").read_bytes()) == b"hello idx" * 1000
    assert _leftovers(target) == ["blob.gz"]  # no temporary file remains


def test_fetch_rejects_bad_checksum_and_garbage(tmp_path, http_server):
    base, served = http_server
    _publish(served, "good", "wrong.gz", b"not what was promised")
    os.makedirs(served / "good", exist_ok=True)
    (served / "good" / "garbage.gz").write_bytes(b"this is not gzip at all")
    target = tmp_path / "target"
    with pytest.raises(DatasetError, match="SHA-256 of the decompressed data is") as info:
        fetch("wrong.gz", target, "0" * 64, [base + "good/"], timeout=TIMEOUT, progress=False)
    assert "expected " + "0" * 64 in str(info.value)
    with pytest.raises(DatasetError, match="not valid gzip data"):
        fetch("garbage.gz", target, "0" * 64, [base + "good/"], timeout=TIMEOUT, progress=False)
    assert _leftovers(target) == []


def test_fetch_falls_back_across_mirrors(tmp_path, http_server):
    base, served = http_server
    digest = _publish(served, "good", "fallback.gz", b"payload")
    _publish(served, "bad", "fallback.gz", b"tampered")
    mirrors = [closed_port_url(), base + "missing/", base + "bad/", base + "good/"]
    path = fetch("fallback.gz", tmp_path, digest, mirrors, timeout=TIMEOUT, progress=False)
    assert gzip.decompress(open(path, "rb").read()) == b"payload"
    assert _leftovers(tmp_path) == ["fallback.gz"]


def test_fetch_cut_connection_is_rejected(tmp_path, http_server):
    base, served = http_server
    digest = _publish(served, "good", "cut.gz", os.urandom(50000))
    with pytest.raises(FileNotFoundError, match="IncompleteRead|connection closed") as info:
        fetch("cut.gz", tmp_path, digest, [base + "short/"], timeout=TIMEOUT, progress=False)
    assert base + "short/cut.gz" in str(info.value)
    assert _leftovers(tmp_path) == []


def test_fetch_unreachable_everywhere(tmp_path):
    mirrors = [closed_port_url(), closed_port_url()]
    with pytest.raises(FileNotFoundError, match="could not download it from any mirror") as info:
        fetch("x.gz", tmp_path, "0" * 64, mirrors, timeout=TIMEOUT, progress=False)
    for url in mirrors:
        assert url + "x.gz" in str(info.value)
    assert _leftovers(tmp_path) == []


def test_progress_bar_with_and_without_tqdm(tmp_path, http_server, monkeypatch, capsys):
    base, served = http_server
    digest = _publish(served, "good", "bar.gz", b"x" * 300000)
    updates = []

    class FakeBar:
        def __init__(self, total=None, **options):
            updates.append(("total", total))

        def update(self, count):
            updates.append(("update", count))

        def close(self):
            updates.append(("close", None))

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    fetch("bar.gz", tmp_path / "a", digest, [base + "good/"], timeout=TIMEOUT)
    size = os.path.getsize(served / "good" / "bar.gz")
    assert updates[0] == ("total", size) and updates[-1] == ("close", None)
    assert sum(count for kind, count in updates if kind == "update") == size
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` fail
    fetch("bar.gz", tmp_path / "b", digest, [base + "good/"], timeout=TIMEOUT)
    assert "cunn: downloading " + base + "good/bar.gz" in capsys.readouterr().err


def test_mirror_configuration(monkeypatch):
    monkeypatch.setenv("CUNN_MNIST_MIRRORS", "http://127.0.0.1:1/a, http://127.0.0.1:2/b/")
    assert mnist.mirrors_in_use() == ["http://127.0.0.1:1/a/", "http://127.0.0.1:2/b/"]
    assert mnist.mirrors_in_use("http://127.0.0.1:3/c") == ["http://127.0.0.1:3/c/"]
    monkeypatch.setenv("CUNN_MNIST_MIRRORS", "")
    assert mnist.mirrors_in_use() == list(mnist.DEFAULT_MIRRORS)
    with pytest.raises(ValueError, match="http:// or https://"):
        mnist.mirrors_in_use(["file:///etc/"])


def test_load_with_no_network_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        mnist.load(timeout=TIMEOUT, progress=False)
    message = str(info.value)
    assert "the download failed" in message and mnist.cache_dir() in message
    assert "root=" in message and "CUNN_DATA" in message and "127.0.0.1" in message
    assert _leftovers(mnist.cache_dir()) == []


def test_load_rejects_synthetic_files_from_a_mirror(tmp_path, http_server):
    """Data that is not MNIST fails the MNIST checksum and nothing is kept."""
    base, served = http_server
    for name in mnist.FILES:
        _publish(served, "fake", name + ".gz", b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    root = tmp_path / "root"
    with pytest.raises(DatasetError, match="no mirror served a valid copy") as info:
        mnist.load(root=root, mirrors=[base + "fake/"], timeout=TIMEOUT, progress=False)
    assert "root=" in str(info.value)
    assert _leftovers(root) == []


# ---- serving the real MNIST files ----

@pytest.fixture(scope="module")
def real_served(http_server):
    """The real .gz files under real/, corrupted copies of the label files under corrupt/
    (the image files are too large to recompress quickly)."""
    folder = real_mnist_folder()
    base, served = http_server
    os.makedirs(served / "real", exist_ok=True)
    os.makedirs(served / "corrupt", exist_ok=True)
    for name in mnist.FILES:
        shutil.copy(os.path.join(folder, name + ".gz"), served / "real" / (name + ".gz"))
        if "labels" not in name:
            continue
        # One changed label in otherwise valid gzip data.
        content = bytearray(gzip.decompress((served / "real" / (name + ".gz")).read_bytes()))
        content[-1] ^= 0x01
        (served / "corrupt" / (name + ".gz")).write_bytes(gzip.compress(bytes(content)))
    return base


@pytest.mark.mnist
def test_download_real_files_into_root(tmp_path, real_served):
    root = tmp_path / "root"
    (x_train, y_train), (x_test, y_test) = mnist.load(
        root=root, mirrors=[real_served + "real/"], timeout=TIMEOUT, progress=False)
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert _leftovers(root) == sorted(name + ".gz" for name in mnist.FILES)
    # Present now: loading again needs no network at all.
    assert mnist.load(root=root, download=False)[1][0].shape == (10000, 28, 28)


@pytest.mark.mnist
def test_download_into_cache_with_fallback(real_served, monkeypatch):
    # Three files already cached; the missing one comes from the second mirror.
    cache = mnist.cache_dir()
    os.makedirs(cache)
    source = real_mnist_folder()
    for name in mnist.FILES[:3]:
        shutil.copy(os.path.join(source, name + ".gz"), cache)
    monkeypatch.setenv("CUNN_MNIST_MIRRORS", closed_port_url() + "," + real_served + "real/")
    (x_train, _), (_, y_test) = mnist.load(timeout=TIMEOUT, progress=False)
    assert len(x_train) == 60000 and len(y_test) == 10000
    assert _leftovers(cache) == sorted(name + ".gz" for name in mnist.FILES)


@pytest.mark.mnist
def test_corrupted_real_copy_rejected(tmp_path, real_served):
    # Only the small test-label file is missing, so only it is downloaded (keeps this fast).
    root = tmp_path / "root"
    os.makedirs(root)
    for name in mnist.FILES[:3]:
        shutil.copy(os.path.join(real_mnist_folder(), name + ".gz"), root)
    present = _leftovers(root)
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz.*SHA-256"):
        mnist.load(root=root, mirrors=[real_served + "corrupt/"], timeout=TIMEOUT,
                   progress=False)
    assert _leftovers(root) == present  # neither the bad file nor a temporary one
    # With the good mirror after the corrupt one, the good copy is used.
    labels = mnist.load(root=root, mirrors=[real_served + "corrupt/", real_served + "real/"],
                        timeout=TIMEOUT, progress=False)[1][1]
    assert len(labels) == 10000 and np.bincount(labels)[0] == 980


def test_decompression_bound(tmp_path, http_server, monkeypatch):
    base, served = http_server
    digest = _publish(served, "good", "big.gz", bytes(5000))
    monkeypatch.setattr("cunn.data.download.MAX_DECOMPRESSED_BYTES", 4096)
    with pytest.raises(DatasetError, match="decompresses to more than 4096 bytes"):
        fetch("big.gz", tmp_path, digest, [base + "good/"], timeout=TIMEOUT, progress=False)
    assert _leftovers(tmp_path) == []
