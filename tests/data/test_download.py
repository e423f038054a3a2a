"""download_file and the data sets' download=True against a local HTTP server on 127.0.0.1
serving generated fixture files (never the internet)."""

import hashlib
import http.server
import threading
from functools import partial
from typing import ClassVar

import pytest
from tests.data.formats import cifar_tar_gz, make_mnist

from bprop.data.datasets import CIFAR10, MNIST, DatasetError, download_file


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, honouring 'Range: bytes=N-' (206, or 416 past the end) like a real server."""

    requests: ClassVar[list[str]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests.append(f"{self.path} {self.headers.get('Range', '')}".strip())
        try:
            data = open(self.translate_path(self.path), "rb").read()
        except OSError:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range", "").startswith("bytes="):
            start = int(self.headers["Range"][6:].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
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
    RangeHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_verifies_and_renames(server, tmp_path):
    root, url = server
    payload = bytes(range(256)) * 100
    (root / "f.bin").write_bytes(payload)
    target = download_file(url + "f.bin", tmp_path / "out" / "f.bin", sha(payload), progress=False)
    assert target.read_bytes() == payload
    assert not (tmp_path / "out" / "f.bin.part").exists()
    download_file(url + "f.bin", target, sha(payload), progress=False)  # present and right: no request
    assert RangeHandler.requests == ["/f.bin"]


def test_download_resumes_a_partial_file(server, tmp_path):
    root, url = server
    payload = b"abcdefghij" * 1000
    (root / "f.bin").write_bytes(payload)
    (tmp_path / "f.bin.part").write_bytes(payload[:3000])
    target = download_file(url + "f.bin", tmp_path / "f.bin", sha(payload), progress=False)
    assert target.read_bytes() == payload and RangeHandler.requests == ["/f.bin bytes=3000-"]


def test_a_complete_part_file_is_renamed(server, tmp_path):
    root, url = server
    payload = b"complete" * 10
    (root / "f.bin").write_bytes(payload)
    (tmp_path / "f.bin.part").write_bytes(payload)  # the server answers 416 to bytes=80-
    assert download_file(url + "f.bin", tmp_path / "f.bin", sha(payload), progress=False).read_bytes() == payload


def test_a_stale_part_file_is_fetched_again_from_scratch(server, tmp_path):
    root, url = server
    payload = b"new version " * 100
    (root / "f.bin").write_bytes(payload)
    (tmp_path / "f.bin.part").write_bytes(b"OLD VERSION " * 10)
    assert download_file(url + "f.bin", tmp_path / "f.bin", sha(payload), progress=False).read_bytes() == payload
    assert RangeHandler.requests == ["/f.bin bytes=120-", "/f.bin"]


def test_a_corrupt_existing_file_is_replaced(server, tmp_path):
    root, url = server
    (root / "f.bin").write_bytes(b"good")
    (tmp_path / "f.bin").write_bytes(b"bad!")
    assert download_file(url + "f.bin", tmp_path / "f.bin", sha(b"good"), progress=False).read_bytes() == b"good"


def test_wrong_checksum_and_dead_mirrors_are_reported(server, tmp_path):
    root, url = server
    (root / "f.bin").write_bytes(b"tampered")
    with pytest.raises(
        DatasetError,
        match=r"could not download .*f.bin: .*missing.bin: HTTP Error 404.*"
        r"sha256 .* is not the expected 0{64}.*Fetch it by hand from",
    ):
        download_file([url + "missing.bin", url + "f.bin"], tmp_path / "f.bin", "0" * 64, progress=False)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_the_first_working_mirror_is_used(server, tmp_path):
    root, url = server
    (root / "f.bin").write_bytes(b"data")
    dead = "http://127.0.0.1:9/"  # the discard port: connection refused
    assert (
        download_file([dead + "f.bin", url + "f.bin"], tmp_path / "f.bin", sha(b"data"), progress=False).read_bytes()
        == b"data"
    )


def test_mnist_download(server, tmp_path, monkeypatch):
    root, url = server
    files = make_mnist(root)
    monkeypatch.setattr(MNIST, "mirrors", (url,))
    monkeypatch.setattr(MNIST, "files", {name: sha(raw) for name, raw in files.items()})
    train = MNIST(tmp_path / "data", download=True)
    assert train.data.shape == (6, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir()) == sorted(files)


def test_cifar10_download(server, tmp_path, monkeypatch):
    root, url = server
    archive = cifar_tar_gz()
    (root / "cifar-10-python.tar.gz").write_bytes(archive)
    monkeypatch.setattr(CIFAR10, "url", url + "cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "sha256", sha(archive))
    assert CIFAR10(tmp_path, train=False, download=True).data.shape == (4, 3, 32, 32)
    assert len(CIFAR10(tmp_path, download=True)) == 20
    assert RangeHandler.requests == ["/cifar-10-python.tar.gz"]  # the second call found the batches
