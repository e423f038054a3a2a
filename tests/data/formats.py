"""Writers of small fixture files in the data sets' original formats: IDX (MNIST), the
Python 2 pickles of CIFAR-10's python version, and its tar.gz. Shared by the data tests."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def make_mnist(folder: Path, n: int = 6, gz: bool = True) -> dict[str, bytes]:
    """The four IDX files of an n-image MNIST in ``folder``; returns {file name: bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28)), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, gz)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


# --- CIFAR-10: the batches are Python 2 pickles (protocol 2), written here opcode by opcode as
# Python 2 and its NumPy wrote them: str as SHORT_BINSTRING/BINSTRING, the array through
# numpy.core.multiarray._reconstruct. Python 3's pickler cannot write py2 str objects.
def _str(b: bytes) -> bytes:
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<I", len(b)) + b)


def _int(i: int) -> bytes:
    return b"J" + struct.pack("<i", i)


def _uint8_array(a: np.ndarray) -> bytes:
    shape = b"(" + b"".join(_int(d) for d in a.shape) + b"t"
    dtype = (
        b"cnumpy\ndtype\n"
        + _str(b"u1")
        + _int(0)
        + _int(1)
        + b"\x87R"
        + b"("
        + _int(3)
        + _str(b"|")
        + b"NNN"
        + _int(-1)
        + _int(-1)
        + _int(0)
        + b"tb"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + b"cnumpy\nndarray\n"
        + _int(0)
        + b"\x85"
        + _str(b"b")
        + b"\x87R("
        + _int(1)
        + shape
        + dtype
        + b"\x89"
        + _str(a.tobytes())
        + b"tb"
    )


def cifar_batch(data: np.ndarray, labels: list[int], name: bytes) -> bytes:
    """One batch file: {'batch_label': str, 'labels': [int], 'data': uint8 (N, 3072)}."""
    items = (
        _str(b"batch_label")
        + _str(name)
        + _str(b"labels")
        + b"]("
        + b"".join(_int(i) for i in labels)
        + b"e"
        + _str(b"data")
        + _uint8_array(data)
    )
    return b"\x80\x02}(" + items + b"u."


def cifar_batches(n: int = 4) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {
        name: cifar_batch(
            rng.integers(0, 256, (n, 3072)).astype(np.uint8), [(k + i) % 10 for k in range(n)], f"batch {i}".encode()
        )
        for i, name in enumerate(names)
    }


def write_cifar(root: Path, n: int = 4) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, raw in cifar_batches(n).items():
        (folder / name).write_bytes(raw)


def cifar_tar_gz(n: int = 4) -> bytes:
    """cifar-10-python.tar.gz in miniature, with the original's folder name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, raw in cifar_batches(n).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()
