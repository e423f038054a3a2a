"""CIFAR-10 from the original "python version" batches, read with a restricted unpickler.

The batches are pickles of dicts holding a uint8 array and a list of labels. A pickle can run
arbitrary code, so the unpickler below resolves only the few NumPy names an array needs and
refuses every other global.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError, download_file

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")
        if module == "_codecs":
            import codecs
            return codecs.encode
        target = np.ndarray if name == "ndarray" else np.dtype if name == "dtype" else None
        if target is not None:
            return target
        try:
            from numpy._core import multiarray  # NumPy 2
        except ImportError:  # pragma: no cover - NumPy 1.x
            from numpy.core import multiarray
        return getattr(multiarray, name)


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError) as err:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch: {err}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch: expected a dict with data and labels")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{path}: expected data of shape (N, 3072), got {data.shape}")
    return data.reshape(-1, 3, 32, 32), np.asarray(batch[b"labels"], dtype=np.int64)


class CIFAR10(ArrayDataset):
    """32×32 colour images (N, 3, 32, 32) uint8 in 10 classes, from cifar-10-batches-py/."""

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    classes_ = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root: str | os.PathLike, train: bool = True, download: bool = False):
        root = Path(root)
        folder = root / "cifar-10-batches-py"
        if download and not folder.is_dir():
            archive = download_file(self.url, root / "cifar-10-python.tar.gz", self.sha256)
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter="data")
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise DatasetError(f"missing {folder / missing[0]}: expected the CIFAR-10 python-version batches "
                               f"in {folder}. Pass download=True (CLI: --download) or unpack "
                               "cifar-10-python.tar.gz there")
        parts = [load_batch(folder / n) for n in names]
        super().__init__(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                         classes=self.classes_, name="cifar10 " + ("train" if train else "test"))
