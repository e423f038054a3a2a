"""Generic data files: .npz with arrays x and y, and CSV with the label in the last column."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError

NPZ_EXPECTED = (
    "an .npz file with arrays 'x' (samples first) and 'y' (integer labels), e.g. np.savez(path, x=images, y=labels)"
)
CSV_EXPECTED = "a CSV of numeric features with the integer label in the last column"


def load_npz(path: str | os.PathLike) -> ArrayDataset:
    """x: any shape with samples first; y: integer labels. Never unpickles."""
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path} is a folder: expected {NPZ_EXPECTED}")
    if not path.is_file():
        raise DatasetError(f"missing {path}: expected {NPZ_EXPECTED}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files or "y" not in archive.files:
                raise DatasetError(f"{path}: expected arrays 'x' and 'y', found {archive.files}")
            x, y = archive["x"], archive["y"]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, AttributeError) as err:
        raise DatasetError(f"{path} is not readable: {_unreadable(path, err)}; expected {NPZ_EXPECTED}") from None
    if x.ndim == 0 or y.ndim != 1:
        raise DatasetError(f"{path}: expected x with samples first and a 1-d y, got x {x.shape} and y {y.shape}")
    if len(x) != len(y):
        raise DatasetError(f"{path}: x has {len(x)} samples but y has {len(y)}")
    integral = y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.isfinite(y).all() and np.array_equal(y, np.round(y)))
    if not integral:
        raise DatasetError(f"{path}: y must hold integer class labels, got {y.dtype} values")
    if len(y) == 0:
        raise DatasetError(f"{path}: x and y hold no samples")
    return ArrayDataset(x, y.astype(np.int64), name=path.name)


def _unreadable(path: Path, err: Exception) -> str:
    """Why np.load failed, in the user's terms: NumPy takes any file that is not a zip for a
    pickle and suggests allow_pickle, which bprop never uses."""
    if path.stat().st_size == 0:
        return "the file is empty"
    if not zipfile.is_zipfile(path):
        return "it is not a zip archive, as np.savez writes"
    if "allow_pickle" in str(err):
        return "it holds Python objects (dtype object), which bprop never unpickles"
    return f"{type(err).__name__}: {err}"


def load_csv(path: str | os.PathLike, skip_header: bool = False) -> ArrayDataset:
    """Rows of numeric features followed by an integer label (x float32, y int64)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"missing {path}: expected {CSV_EXPECTED}")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=int(skip_header), ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        hint = "" if skip_header else " (pass skip_header=True if the first row holds column names)"
        raise DatasetError(f"{path} is not {CSV_EXPECTED}: {err}{hint}") from None
    if table.shape[1] < 2:
        raise DatasetError(f"{path}: expected at least one feature column and a label column")
    return ArrayDataset(table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64), name=path.name)
