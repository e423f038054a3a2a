"""Data: datasets, batching and batch transforms (torch.utils.data's names), and the data sets
(``bprop.data.datasets``: digits, MNIST, FashionMNIST, CIFAR10, .npz and CSV files)."""

from bprop.data import datasets, transforms
from bprop.data.dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from bprop.data.loader import DataLoader

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "datasets", "random_split", "transforms"]
