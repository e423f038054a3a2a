"""Data: datasets, batching and batch transforms (torch.utils.data's names)."""

from bprop.data import transforms
from bprop.data.dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from bprop.data.loader import DataLoader

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "random_split", "transforms"]
