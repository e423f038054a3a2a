"""Data-set readers on small generated fixtures in the original formats, and the real files
in ../shared/data when present (slow)."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from tests.data.formats import cifar_batch, cifar_tar_gz, make_mnist, write_cifar, write_idx

from bprop.data.datasets import CIFAR10, MNIST, DatasetError, FashionMNIST, load_csv, load_digits, load_npz, read_idx
from bprop.data.datasets.cifar import extract_batches

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_digits_are_embedded():
    d = load_digits()
    assert d.data.shape == (1797, 1, 8, 8) and d.data.dtype == np.float32
    assert d.data.min() == 0 and d.data.max() == 1
    assert np.bincount(d.targets).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files_gzipped_or_not(tmp_path, gz):
    make_mnist(tmp_path / "mnist", gz=gz)
    train = MNIST(tmp_path)
    assert train.data.shape == (6, 1, 28, 28) and train.data.dtype == np.uint8
    assert train.targets.tolist() == [0, 1, 2, 3, 4, 5] and train.targets.dtype == np.int64
    assert len(MNIST(tmp_path / "mnist", train=False)) == 6


def test_mnist_accepts_the_dotted_uncompressed_names(tmp_path):
    make_mnist(tmp_path, gz=False)
    for path in tmp_path.iterdir():  # train-images-idx3-ubyte -> train-images.idx3-ubyte
        path.rename(tmp_path / path.name.replace("-idx", ".idx"))
    assert MNIST(tmp_path).data.shape == (6, 1, 28, 28)


def test_fashion_mnist_class_names(tmp_path):
    make_mnist(tmp_path / "fashion-mnist")
    assert FashionMNIST(tmp_path).classes[9] == "Ankle boot"


def test_missing_files_say_which_what_and_how(tmp_path):
    with pytest.raises(
        DatasetError,
        match=r"missing .*train-images-idx3-ubyte.gz: expected the original MNIST "
        r"IDX file.*download=True.*ossci-datasets",
    ):
        MNIST(tmp_path)
    with pytest.raises(
        DatasetError,
        match=r"missing .*data_batch_1: expected the CIFAR-10 python-version.*"
        r"download=True.*cifar-10-python.tar.gz",
    ):
        CIFAR10(tmp_path)


def test_corrupt_idx_files_say_which_and_how(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(
        DatasetError,
        match=r"train-images-idx3-ubyte.gz is truncated or corrupt: header says "
        r"\(6, 28, 28\).*delete it and pass download=True",
    ):
        MNIST(tmp_path)
    path.write_bytes(b"not a gzip file")
    with pytest.raises(DatasetError, match="not a readable IDX file"):
        read_idx(path)
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x09\x00"))  # claims 9 sizes, holds none
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)
    (tmp_path / "junk").write_bytes(b"PK\x03\x04")
    with pytest.raises(DatasetError, match="bad magic number 504b0304"):
        read_idx(tmp_path / "junk")
    write_idx(path, np.zeros((6, 28), np.uint8))  # labels where images belong
    with pytest.raises(DatasetError, match=r"expected a 3-d IDX array, got shape \(6, 28\)"):
        MNIST(tmp_path)


def test_read_idx_other_dtypes(tmp_path):
    values = np.arange(-3, 3, dtype=">i4").reshape(2, 3)
    (tmp_path / "a.idx").write_bytes(
        bytes([0, 0, 0x0C, 2]) + np.asarray(values.shape, ">u4").tobytes() + values.tobytes()
    )
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and out.dtype.isnative and out.tolist() == values.tolist()


def test_cifar10_reads_python2_batches(tmp_path):
    write_cifar(tmp_path)
    train = CIFAR10(tmp_path)
    assert train.data.shape == (20, 3, 32, 32) and train.data.dtype == np.uint8
    assert train.targets.tolist()[:8] == [0, 1, 2, 3, 1, 2, 3, 4] and train.classes[0] == "airplane"
    test = CIFAR10(tmp_path, train=False)
    assert len(test) == 4 and test.targets.tolist() == [5, 6, 7, 8]
    # the channel-major row layout of the originals: 1024 red, then green, then blue values
    row = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes(), encoding="bytes")[b"data"][0]
    np.testing.assert_array_equal(test.data[0, 1].ravel(), row[1024:2048])


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "payload, refused",
    [
        (pickle.dumps({b"data": Evil()}), "builtins.print"),
        (pickle.dumps({b"data": np.float32(1)}, protocol=3), "numpy._core.multiarray.scalar"),  # not needed
        (b"\x80\x02cos\nsystem\nU\x04trueR.", "os.system"),
    ],
)
def test_cifar10_unpickles_only_numpy_arrays(tmp_path, payload, refused, capsys):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    with pytest.raises(DatasetError, match=f"refusing to load {refused}"):
        CIFAR10(tmp_path, train=False)
    assert "pwned" not in capsys.readouterr().out


def test_cifar10_rejects_malformed_batches(tmp_path):
    write_cifar(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(cifar_batch(np.zeros((2, 100), np.uint8), [0, 1], b"x"))
    with pytest.raises(DatasetError, match=r"expected uint8 data \(N, 3072\).*got data uint8 \(2, 100\)"):
        CIFAR10(tmp_path, train=False)
    batch.write_bytes(batch.read_bytes()[:50])
    with pytest.raises(DatasetError, match="test_batch is not a CIFAR-10 python batch"):
        CIFAR10(tmp_path, train=False)


def test_cifar10_archive_extraction_writes_only_the_batches(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(cifar_tar_gz())
    extract_batches(archive, tmp_path / "root")
    assert sorted(p.name for p in (tmp_path / "root" / "cifar-10-batches-py").iterdir())[:2] == [
        "data_batch_1",
        "data_batch_2",
    ]
    archive.write_bytes(b"\x1f\x8b broken")
    with pytest.raises(DatasetError, match=r"not a readable cifar-10-python.tar.gz"):
        extract_batches(archive, tmp_path / "root")


def test_npz_and_csv(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 3)), y=np.arange(5))
    d = load_npz(tmp_path / "d.npz")
    assert d.data.shape == (5, 3) and d.targets.dtype == np.int64 and len(d.classes) == 5
    (tmp_path / "d.csv").write_text("0.5,1,2\n0.25,3,0\n")
    d = load_csv(tmp_path / "d.csv")
    assert d.data.shape == (2, 2) and d.data.dtype == np.float32 and d.targets.tolist() == [2, 0]
    (tmp_path / "h.csv").write_text("a,b,label\n0.5,1,2\n")
    assert load_csv(tmp_path / "h.csv", skip_header=True).targets.tolist() == [2]


def test_bad_npz_and_csv_files_are_explained(tmp_path):
    with pytest.raises(DatasetError, match=r"missing .*nothing.npz: expected an .npz file with arrays 'x'"):
        load_npz(tmp_path / "nothing.npz")
    np.savez(tmp_path / "bad.npz", a=np.zeros(2))
    with pytest.raises(DatasetError, match=r"expected arrays 'x' and 'y', found \['a'\]"):
        load_npz(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"junk.npz is not readable: it is not a zip archive, as np.savez writes"):
        load_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{}], dtype=object), y=np.arange(1))
    with pytest.raises(DatasetError, match=r"obj.npz is not readable"):
        load_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "len.npz", x=np.zeros((3, 2)), y=np.arange(2))
    with pytest.raises(DatasetError, match="x has 3 samples but y has 2"):
        load_npz(tmp_path / "len.npz")
    np.savez(tmp_path / "real.npz", x=np.zeros((2, 2)), y=np.array([0.5, 1.0]))
    with pytest.raises(DatasetError, match="integer class labels"):
        load_npz(tmp_path / "real.npz")
    (tmp_path / "h.csv").write_text("a,b,label\n0.5,1,2\n")
    with pytest.raises(DatasetError, match=r"h.csv is not a CSV of numeric features.*skip_header=True"):
        load_csv(tmp_path / "h.csv")


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is absent")
def test_real_mnist_and_fashion_mnist():
    train, test = MNIST(SHARED), MNIST(SHARED, train=False)
    assert train.data.shape == (60000, 1, 28, 28) and len(test) == 10000
    assert np.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(FashionMNIST(SHARED).targets).tolist() == [6000] * 10
    assert np.bincount(FashionMNIST(SHARED, train=False).targets).tolist() == [1000] * 10
