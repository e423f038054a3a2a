"""CIFAR-10 from the original "python version" batches, read with a restricted unpickler.

Each batch is a Python 2 pickle of a dict: ``data`` a (10000, 3072) uint8 array, ``labels`` a
list of ints, plus strings. A pickle can run arbitrary code, so the unpickler below resolves
exactly the three NumPy names an array needs (``_reconstruct``, ``ndarray``, ``dtype``) and
refuses every other global.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError, download_file
from bprop.serialization import atomic_write_bytes

try:
    from numpy._core import multiarray as _multiarray  # NumPy 2
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch") from None


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch as (images (N, 3, 32, 32) uint8, labels (N,) int64)."""
    how = f"delete it and unpack {CIFAR10.url} again (CLI: --download)"
    try:
        batch = _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError, IndexError) as err:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch ({err}); {how}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"{path} is not a CIFAR-10 python batch: expected a dict with data and labels; {how}")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise DatasetError(
            f"{path}: expected uint8 data (N, 3072) and N labels, got data {data.dtype} "
            f"{data.shape} and labels {labels.shape}; {how}"
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def extract_batches(archive: Path, root: Path) -> None:
    """Write the batches of ``archive`` to ``root/cifar-10-batches-py``. Only those names are
    extracted, as plain files, so a crafted archive cannot write anywhere else."""
    wanted = {f"{FOLDER}/{name}" for name in (*TRAIN_BATCHES, *TEST_BATCHES, "batches.meta")}
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name in wanted:
                    atomic_write_bytes(root / member.name, tar.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DatasetError(
            f"{archive} is not a readable cifar-10-python.tar.gz ({err}); delete it and download it again"
        ) from None


class CIFAR10(ArrayDataset):
    """32×32 colour images (N, 3, 32, 32) uint8 in 10 classes, from ``root/cifar-10-batches-py/``.

    download=True fetches cifar-10-python.tar.gz (sha256-checked) into ``root`` and extracts
    the batches when any is missing.
    """

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    classes_: ClassVar[list[str]] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]

    def __init__(self, root: str | os.PathLike, train: bool = True, download: bool = False):
        root = Path(root)
        folder = root / FOLDER
        names = TRAIN_BATCHES if train else TEST_BATCHES
        if download and not all((folder / n).is_file() for n in names):
            extract_batches(download_file(self.url, root / "cifar-10-python.tar.gz", self.sha256), root)
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise DatasetError(
                f"missing {folder / missing[0]}: expected the CIFAR-10 python-version batches "
                f"in {folder}; pass download=True (CLI: --download) or unpack {self.url} "
                f"in {root}"
            )
        parts = [load_batch(folder / n) for n in names]
        super().__init__(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            classes=self.classes_,
            name="cifar10 " + ("train" if train else "test"),
        )
