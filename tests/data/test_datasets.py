"""Data-set readers on small generated fixtures in the original formats, and the real files
in ../shared/data when present (slow)."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from bprop.data.datasets import CIFAR10, MNIST, DatasetError, FashionMNIST, load_csv, load_digits, load_npz, read_idx

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def make_mnist(folder: Path, n: int = 6, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28)), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, gz)


def test_digits_are_embedded():
    d = load_digits()
    assert d.data.shape == (1797, 1, 8, 8) and d.data.dtype == np.float32
    assert d.data.min() == 0 and d.data.max() == 1
    assert np.bincount(d.targets).tolist()[:3] == [178, 182, 177]


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files_gzipped_or_not(tmp_path, gz):
    make_mnist(tmp_path / "mnist", gz=gz)
    train = MNIST(tmp_path)
    assert train.data.shape == (6, 1, 28, 28) and train.data.dtype == np.uint8
    assert train.targets.tolist() == [0, 1, 2, 3, 4, 5]
    assert len(MNIST(tmp_path / "mnist", train=False)) == 6


def test_fashion_mnist_class_names(tmp_path):
    make_mnist(tmp_path / "fashion-mnist")
    assert FashionMNIST(tmp_path).classes[9] == "Ankle boot"


def test_missing_and_corrupt_files_say_which_and_how(tmp_path):
    with pytest.raises(DatasetError, match=r"missing .*train-images-idx3-ubyte.gz.*download=True"):
        MNIST(tmp_path)
    make_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        read_idx(path)
    path.write_bytes(b"not a gzip file")
    with pytest.raises(DatasetError, match="not a readable IDX file"):
        read_idx(path)


def write_cifar(folder: Path, n: int = 4) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": list(range(n)),
                 b"batch_label": name.encode()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def test_cifar10_python_batches(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    train = CIFAR10(tmp_path)
    assert train.data.shape == (20, 3, 32, 32) and train.targets.tolist()[:4] == [0, 1, 2, 3]
    assert len(CIFAR10(tmp_path, train=False)) == 4


def test_cifar10_refuses_arbitrary_objects(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetError, match="refusing to load builtins.print"):
        CIFAR10(tmp_path, train=False)


def test_npz_and_csv(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 3)), y=np.arange(5))
    assert load_npz(tmp_path / "d.npz").data.shape == (5, 3)
    np.savez(tmp_path / "bad.npz", a=np.zeros(2))
    with pytest.raises(DatasetError, match="expected arrays 'x' and 'y'"):
        load_npz(tmp_path / "bad.npz")
    (tmp_path / "d.csv").write_text("0.5,1,2\n0.25,3,0\n")
    d = load_csv(tmp_path / "d.csv")
    assert d.data.shape == (2, 2) and d.targets.tolist() == [2, 0]


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is absent")
def test_real_mnist_and_fashion_mnist():
    train, test = MNIST(SHARED), MNIST(SHARED, train=False)
    assert train.data.shape == (60000, 1, 28, 28) and len(test) == 10000
    assert np.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(FashionMNIST(SHARED).targets).tolist() == [6000] * 10
