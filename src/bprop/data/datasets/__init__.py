"""Data sets: the embedded digits, MNIST/Fashion-MNIST (IDX), CIFAR-10 (python batches),
and generic .npz/CSV files. Each returns an ArrayDataset (x, y) with class names."""

from bprop.data.datasets.cifar import CIFAR10
from bprop.data.datasets.digits import load_digits
from bprop.data.datasets.download import DatasetError, download_file
from bprop.data.datasets.files import load_csv, load_npz
from bprop.data.datasets.mnist import MNIST, FashionMNIST, read_idx

__all__ = [
    "CIFAR10",
    "MNIST",
    "DatasetError",
    "FashionMNIST",
    "download_file",
    "load_csv",
    "load_digits",
    "load_npz",
    "read_idx",
]
