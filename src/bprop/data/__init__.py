"""Data: datasets, batching and batch transforms (torch.utils.data's names), and the data sets
(``bprop.data.datasets``: digits, MNIST, FashionMNIST, CIFAR10, .npz and CSV files)."""

from bprop.data import datasets, transforms
from bprop.data.collate import default_collate
from bprop.data.dataset import ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, random_split
from bprop.data.loader import DataLoader

__all__ = [
    "ArrayDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "datasets",
    "default_collate",
    "random_split",
    "transforms",
]
