"""download_file against a local HTTP server on 127.0.0.1 (never the internet)."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from bprop.data.datasets import DatasetError, download_file


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, honouring 'Range: bytes=N-' so that resumption can be tested."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range", "").startswith("bytes="):
            start = int(self.headers["Range"][6:].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_download_verifies_and_renames(server, tmp_path):
    root, url = server
    payload = bytes(range(256)) * 100
    (root / "f.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    target = download_file(url + "f.bin", tmp_path / "out" / "f.bin", digest, progress=False)
    assert target.read_bytes() == payload
    assert not (tmp_path / "out" / "f.bin.part").exists()


def test_download_resumes_a_partial_file(server, tmp_path):
    root, url = server
    payload = b"abcdefghij" * 1000
    (root / "f.bin").write_bytes(payload)
    (tmp_path / "f.bin.part").write_bytes(payload[:3000])
    target = download_file(url + "f.bin", tmp_path / "f.bin", hashlib.sha256(payload).hexdigest(), progress=False)
    assert target.read_bytes() == payload


def test_wrong_checksum_and_dead_mirrors_are_reported(server, tmp_path):
    root, url = server
    (root / "f.bin").write_bytes(b"tampered")
    with pytest.raises(DatasetError, match="sha256 .* is not the expected"):
        download_file([url + "missing.bin", url + "f.bin"], tmp_path / "f.bin", "0" * 64, progress=False)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()
