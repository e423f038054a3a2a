"""The data-set registry: names, defaults, and the checks every loaded data set passes."""

from pathlib import Path

import numpy as np
import pytest
from tests.data.formats import make_mnist

from bprop.data import ArrayDataset
from bprop.data.datasets import DatasetError, FashionMNIST, mnist
from bprop.data.registry import DATASETS, DataSpec, check_dataset, dataset_spec, load_dataset, register_dataset


def test_the_registered_data_sets():
    assert {"digits", "mnist", "fashion-mnist", "cifar10", "npz"} <= set(DATASETS)
    assert dataset_spec("runs/mine.npz") is DATASETS["npz"]
    train, test = load_dataset("digits")
    assert (len(train), len(test)) == (1438, 359) and train.gather(np.arange(2))[0].shape == (2, 1, 8, 8)
    with pytest.raises(DatasetError, match="unknown data set 'emnist'; choose digits, mnist"):
        dataset_spec("emnist")


def test_a_registered_data_set_is_loaded_and_checked(tmp_path):
    def blobs(name, data_dir, download):
        x = np.ones((6, 2), np.float32)
        return ArrayDataset(x, np.arange(6) % 3), ArrayDataset(x, np.array([0, 1, 5, 0, 1, 2]))

    register_dataset(DataSpec("blobs", "three blobs", blobs, (2,), 3, dict(model="mlp")))
    try:
        with pytest.raises(DatasetError, match=r"blobs \(test data\): labels must lie in \[0, 2\], found 5"):
            load_dataset("blobs")
    finally:
        del DATASETS["blobs"]


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.zeros((0, 2)), np.zeros(0, int), "no samples"),
        (np.array([["a", "b"]]), np.zeros(1, int), "inputs must be numbers"),
        (np.zeros(3), np.zeros(3, int), "at least one feature axis"),
        (np.array([[1.0, np.nan]]), np.zeros(1, int), "NaN or infinite values in 1 of 1 samples (first: 0)"),
        (np.zeros((2, 3)), np.zeros(2), "labels must be a 1-d array of integers"),
        (np.zeros((2, 3)), np.array([0, 3]), "labels must lie in [0, 2], found 3"),
        (np.zeros((2, 4)), np.array([0, 1]), "expected inputs of shape (N, 3), got (2, 4)"),
    ],
)
def test_check_dataset_names_what_is_wrong(x, y, message):
    dataset = ArrayDataset.__new__(ArrayDataset)
    dataset.tensors = (x, y)
    with pytest.raises(DatasetError) as info:
        check_dataset(dataset, "mine", num_classes=3, input_shape=(3,) if "shape" in message else None)
    assert str(info.value).startswith("mine: ") and message in str(info.value)


def test_a_file_named_like_an_original_must_be_that_original(tmp_path, monkeypatch):
    """MNIST files in a folder read as Fashion-MNIST: refused, naming whose file it is."""
    files = make_mnist(tmp_path / "fashion-mnist", n=6)
    table = {
        ("MNIST", name): (len(data), __import__("hashlib").sha256(data).hexdigest()) for name, data in files.items()
    }
    table.update({("FashionMNIST", name): (len(data), "0" * 64) for name, data in files.items()})
    monkeypatch.setattr(mnist, "ORIGINALS", table)
    with pytest.raises(DatasetError, match=r"is MNIST's train-images-idx3-ubyte.gz, not FashionMNIST's"):
        FashionMNIST(tmp_path)
    monkeypatch.setattr(mnist, "ORIGINALS", {("FashionMNIST", n): (s, "0" * 64) for (_, n), (s, _) in table.items()})
    with pytest.raises(DatasetError, match="has the size of FashionMNIST's original but not its sha256"):
        FashionMNIST(tmp_path)


SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is absent")
def test_the_real_mnist_files_are_not_fashion_mnist():
    with pytest.raises(DatasetError, match="is MNIST's"):
        FashionMNIST(SHARED / "mnist")
    assert len(mnist.MNIST(SHARED, train=False)) == 10000  # and the originals pass their own check
