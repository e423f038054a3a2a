"""MNIST and Fashion-MNIST from their original IDX files (gzipped or not).

A file whose name and size are those of a published original (either data set's, gzipped or
not) must also have its sha256: so Fashion-MNIST's name on a folder of MNIST files, or a
corrupt download, is an error naming the file instead of a run on the wrong data. Files of
other sizes (a subset, a fixture in the same format) are read as they are.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import ClassVar

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError, download_file, sha256_of

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file: magic 0x00 0x00 <dtype> <ndim>, ndim big-endian uint32 sizes, data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{path} is not a readable IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{path} is truncated: {len(raw)} bytes cannot hold the {ndim} sizes of its header")
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = 4 + 4 * ndim + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(
            f"{path} is truncated or corrupt: header says {tuple(dims.tolist())} "
            f"({expected} bytes), the file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(dims).astype(dtype.newbyteorder("="))


# (data set, file name) → (size in bytes, sha256) of the published originals, gzipped and not
ORIGINALS: dict[tuple[str, str], tuple[int, str]] = {
    ("MNIST", "train-images-idx3-ubyte.gz"): (
        9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    ("MNIST", "train-labels-idx1-ubyte.gz"): (
        28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    ("MNIST", "t10k-images-idx3-ubyte.gz"): (
        1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    ("MNIST", "t10k-labels-idx1-ubyte.gz"): (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ("MNIST", "train-images-idx3-ubyte"): (
        47040016,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    ("MNIST", "train-labels-idx1-ubyte"): (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("MNIST", "t10k-images-idx3-ubyte"): (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("MNIST", "t10k-labels-idx1-ubyte"): (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ("FashionMNIST", "train-images-idx3-ubyte.gz"): (
        26421880,
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    ("FashionMNIST", "train-labels-idx1-ubyte.gz"): (
        29515,
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    ("FashionMNIST", "t10k-images-idx3-ubyte.gz"): (
        4422102,
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    ("FashionMNIST", "t10k-labels-idx1-ubyte.gz"): (
        5148,
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
    ("FashionMNIST", "train-images-idx3-ubyte"): (
        47040016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    ("FashionMNIST", "train-labels-idx1-ubyte"): (
        60008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    ("FashionMNIST", "t10k-images-idx3-ubyte"): (
        7840016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    ("FashionMNIST", "t10k-labels-idx1-ubyte"): (
        10008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}


def verify_original(path: Path, dataset: str) -> None:
    """Raise DatasetError when ``path`` has the name and size of a published original but not
    ``dataset``'s sha256 (see the module docstring)."""
    size = path.stat().st_size
    if not any(name == path.name and size == known for (_, name), (known, _) in ORIGINALS.items()):
        return
    digest = sha256_of(path)
    if ORIGINALS.get((dataset, path.name), (0, ""))[1] == digest:
        return
    owner = next((f"{d}'s {name}" for (d, name), (_, h) in ORIGINALS.items() if h == digest), None)
    if owner is not None:
        raise DatasetError(
            f"{path} is {owner}, not {dataset}'s: put {dataset}'s files there (or choose the other --data)"
        )
    raise DatasetError(f"{path} has the size of {dataset}'s original but not its sha256: it is corrupt; delete it")


class MNIST(ArrayDataset):
    """Handwritten digits, 28×28 uint8 as (N, 1, 28, 28), labels int64.

    ``root`` may hold the files directly or in a subfolder named like the data set
    ("mnist", "fashion-mnist"). download=True fetches the originals (sha256-checked).
    """

    folder = "mnist"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    files: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    classes_: ClassVar[list[str]] = [str(d) for d in range(10)]

    def __init__(self, root: str | os.PathLike, train: bool = True, download: bool = False):
        prefix = "train" if train else "t10k"
        folder = self._folder(Path(root))
        if download:
            for name, digest in self.files.items():
                download_file([m + name for m in self.mirrors], folder / name, digest)
        images = self._read(folder, f"{prefix}-images-idx3-ubyte", ndim=3)
        labels = self._read(folder, f"{prefix}-labels-idx1-ubyte", ndim=1).astype(np.int64)
        if len(images) != len(labels):
            raise DatasetError(f"{folder}: {len(images)} images but {len(labels)} labels; {self._how(folder)}")
        super().__init__(images[:, None], labels, classes=self.classes_, name=f"{self.folder} {prefix}")

    @classmethod
    def _how(cls, folder: Path) -> str:
        return f"pass download=True (CLI: --download) or put the original files from {cls.mirrors[0]} in {folder}"

    @classmethod
    def _read(cls, folder: Path, stem: str, ndim: int) -> np.ndarray:
        path = cls._find(folder, stem)
        verify_original(path, cls.__name__)
        try:
            array = read_idx(path)
        except DatasetError as err:
            raise DatasetError(f"{err}; delete it and {cls._how(folder)}") from None
        if array.ndim != ndim:
            raise DatasetError(
                f"{path}: expected a {ndim}-d IDX array, got shape {array.shape}; "
                f"is it the right file? {cls._how(folder)}"
            )
        return array

    @classmethod
    def _folder(cls, root: Path) -> Path:
        return root / cls.folder if (root / cls.folder).is_dir() or not root.is_dir() else root

    @classmethod
    def _find(cls, folder: Path, stem: str) -> Path:
        for candidate in (folder / f"{stem}.gz", folder / stem, folder / stem.replace("-idx", ".idx")):
            if candidate.exists():
                return candidate
        raise DatasetError(
            f"missing {folder / (stem + '.gz')}: expected the original {cls.__name__} IDX file "
            f"(gzipped or not); {cls._how(folder)}"
        )


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same format as MNIST, 10 kinds of clothing."""

    folder = "fashion-mnist"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    files: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }
    classes_: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
