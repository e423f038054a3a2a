"""Generic data files: .npz with arrays x and y, and CSV with the label in the last column."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError


def load_npz(path: str | os.PathLike) -> ArrayDataset:
    """x: any shape with samples first; y: integer labels. Never unpickles."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"missing {path}: expected an .npz file with arrays 'x' and 'y'")
    with np.load(path, allow_pickle=False) as archive:
        if "x" not in archive.files or "y" not in archive.files:
            raise DatasetError(f"{path}: expected arrays 'x' and 'y', found {archive.files}")
        x, y = archive["x"], archive["y"]
    if len(x) != len(y):
        raise DatasetError(f"{path}: x has {len(x)} samples but y has {len(y)}")
    return ArrayDataset(x, y.astype(np.int64), name=path.name)


def load_csv(path: str | os.PathLike, skip_header: bool = False) -> ArrayDataset:
    """Rows of numeric features followed by an integer label."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"missing {path}: expected a CSV of numeric features with the label last")
    table = np.loadtxt(path, delimiter=",", skiprows=int(skip_header), ndmin=2)
    return ArrayDataset(table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64), name=path.name)
