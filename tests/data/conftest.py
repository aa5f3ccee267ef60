"""Fixtures for cunn.data tests: an isolated environment (no real cache, no internet), a local
HTTP server on 127.0.0.1, synthetic IDX folders, and the real MNIST files when available."""
import functools
import http.server
import os
import threading

import pytest

from data_helpers import closed_port_url


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No test reads the user's cache or CUNN_DATA, and downloads go nowhere by default."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("CUNN_DATA", raising=False)
    monkeypatch.setenv("CUNN_MNIST_MIRRORS", closed_port_url())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        # /short/NAME: promise more bytes than are sent, then hang up (a cut connection).
        if self.path.startswith("/short/"):
            path = os.path.join(self.directory, "good", self.path[len("/short/"):])
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    """A file server on 127.0.0.1 (ephemeral port) over a temporary folder.

    Yields ``(base_url, folder)``; files placed under ``folder/sub/`` are served at
    ``base_url + "sub/"``.
    """
    folder = tmp_path_factory.mktemp("served")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
