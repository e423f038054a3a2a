"""The data-set registry: the name a user types (``--data mnist``) → how to load it, the shape of
one input, its classes, the batch transforms it trains with and the training defaults that suit
it. ``load_dataset`` checks every data set at the door (numeric, finite, non-empty, labels in
range, one shape), so that a bad file ends in one clear error instead of a NaN loss or a crash
deep in a model.

To add a data set: write its loader in ``datasets/`` (returning ArrayDatasets), then register a
``DataSpec`` at the end of this file (or from your own code with ``register_dataset``). Its
``defaults`` are those of ``bprop.train.RunConfig``'s per-data-set options (model, epochs,
batch_size, lr, hidden, dropout); the CLI's ``--help`` lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bprop.data import transforms
from bprop.data.dataset import Dataset, random_split
from bprop.data.datasets import CIFAR10, MNIST, DatasetError, FashionMNIST, load_digits, load_npz
from bprop.data.datasets.text import load_text

Loader = Callable[[str, str, bool], tuple[Dataset, Dataset]]  # (name, data_dir, download) -> (train, test)


@dataclass(frozen=True)
class DataSpec:
    """One data set: ``load(name, data_dir, download) -> (train, test)``, the shape of one input
    (None: read from the file), the number of classes (None: from the labels), per-channel
    normalisation (mean, std) applied to every batch, whether random crops and flips suit it,
    and the training defaults that suit it. ``task`` is "classification" (one integer label per
    sample) or "language-model" (a label per position of a sequence: the next token)."""

    name: str
    description: str
    load: Loader
    input_shape: tuple[int, ...] | None
    num_classes: int | None
    defaults: dict[str, Any]
    normalisation: tuple[Any, Any] | None = None
    augmentable: bool = False
    needs_data_dir: bool = True
    threads: int | None = None  # threads that suit it (bprop's and the BLAS's) when --threads is not given
    task: str = "classification"

    def transforms(self, augment: bool) -> tuple[Callable | None, Callable | None]:
        """(train transform, eval transform) applied to each batch of inputs."""
        if self.normalisation is None:
            return None, None
        base = [transforms.ToFloat(), transforms.Normalize(*self.normalisation)]
        evaluation = transforms.Compose(base)
        if not (augment and self.augmentable):
            return evaluation, evaluation
        size = self.input_shape[-1] if self.input_shape else 32
        crops = [transforms.RandomCrop(size, 4), transforms.RandomHorizontalFlip()]
        return transforms.Compose([*crops, *base]), evaluation


DATASETS: dict[str, DataSpec] = {}


def register_dataset(spec: DataSpec) -> DataSpec:
    """Make ``spec.name`` a value of ``--data`` and ``RunConfig.data``."""
    DATASETS[spec.name] = spec
    return spec


def dataset_spec(name: str) -> DataSpec:
    """The spec of a registered name, or of the generic "npz" entry for a PATH.npz."""
    if name == "text" or name == "text:":
        raise DatasetError("--data text: give the text file after the colon, e.g. --data text:poem.txt")
    if name.startswith("text:"):  # before .npz: text:notes.npz names a text file
        return DATASETS["text"]
    if name.endswith(".npz"):
        return DATASETS["npz"]
    if name not in DATASETS:
        known = ", ".join(n for n in DATASETS if n not in ("npz", "text"))
        shown = repr(name) if len(name) <= 60 else f"{name[:40]!r}… ({len(name):,} characters)"
        raise DatasetError(f"--data: unknown data set {shown}; choose {known}, a PATH.npz or text:PATH")
    return DATASETS[name]


def load_dataset(name: str, data_dir: str = "data", download: bool = False) -> tuple[Dataset, Dataset]:
    """(train, test) of a registered data set or a PATH.npz, checked (see ``check_dataset``)."""
    spec = dataset_spec(name)
    if spec.needs_data_dir and os.path.exists(data_dir) and not os.path.isdir(data_dir):  # not "missing FILE/mnist/…"
        raise DatasetError(f"--data-dir {data_dir} is a file, not a folder")
    train, test = spec.load(name, data_dir, download)
    if spec.task == "language-model":  # every character of the vocabulary is a class, used as a label or not
        classes = len(train.classes)
    else:
        classes = spec.num_classes or _labels_in_use(name, train, test)
    for part, dataset in (("training", train), ("test", test)):
        check_dataset(dataset, f"{name} ({part} data)", classes, spec.input_shape, spec.task == "language-model")
    return train, test


def check_dataset(
    dataset: Dataset,
    where: str,
    num_classes: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    sequence_labels: bool = False,
) -> None:
    """Raise DatasetError naming ``where`` unless the inputs are numeric, finite, at least one
    sample of at least one feature (of ``input_shape`` when given), and the labels are integers
    in [0, num_classes): one per sample, or with ``sequence_labels`` one per input position."""
    arrays = dataset.arrays()
    if arrays is None or len(arrays) < 2:
        raise DatasetError(f"{where}: expected inputs and labels as arrays")
    x, y = np.asarray(arrays[0]), np.asarray(arrays[1])
    if len(x) == 0:
        raise DatasetError(f"{where}: no samples")
    if x.ndim >= 2 and x[0].size == 0:
        raise DatasetError(f"{where}: the samples have no features (inputs of shape {x.shape}): nothing to learn from")
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: inputs must be numbers (int, uint or float), got dtype {x.dtype}")
    if x.ndim < 2:
        raise DatasetError(
            f"{where}: inputs must have a sample axis and at least one feature axis, got shape {x.shape} "
            "(for one feature per sample, use x[:, None])"
        )
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        raise DatasetError(f"{where}: expected inputs of shape (N, {_dims(input_shape)}), got {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        raise DatasetError(
            f"{where}: inputs hold NaN or infinite values in {len(bad)} of {len(x)} samples (first: {bad[0]})"
        )
    if sequence_labels and (y.shape != x.shape or y.dtype.kind not in "iu"):
        raise DatasetError(f"{where}: expected integer labels of the inputs' shape {x.shape}, got {y.dtype} {y.shape}")
    if not sequence_labels and (y.ndim != 1 or y.dtype.kind not in "iu"):
        raise DatasetError(f"{where}: labels must be a 1-d array of integers, got {y.dtype} {y.shape}")
    if num_classes is not None and len(y) and (y.min() < 0 or y.max() >= num_classes):
        wrong = y[(y < 0) | (y >= num_classes)][0]
        raise DatasetError(f"{where}: labels must lie in [0, {num_classes - 1}], found {wrong}")


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


def _labels_in_use(name: str, train: Dataset, test: Dataset) -> int:
    """The number of classes of a data set whose labels say it: 0…C−1, each one used. A stray
    label (1000 among 0–3) would otherwise silently make a thousand classes."""
    labels = np.concatenate([np.asarray(d.arrays()[1]).reshape(-1) for d in (train, test) if d.arrays() is not None])
    if labels.dtype.kind not in "iu" or len(labels) == 0:
        return 0  # check_dataset names the problem
    if labels.min() < 0:
        raise DatasetError(f"{name}: labels must be class numbers 0, 1, 2…; found {labels.min()}")
    used = np.unique(labels)
    if len(used) != labels.max() + 1:
        first_missing = np.setdiff1d(np.arange(len(used) + 1), used)[0]  # not range(max): max may be 2⁴⁰
        raise DatasetError(
            f"{name}: labels must be the class numbers 0…C−1, each used; found {len(used)} distinct labels "
            f"up to {labels.max()}, with {int(labels.max()) + 1 - len(used)} missing (first {first_missing})"
        )
    return int(labels.max()) + 1


# ----- the data sets ---------------------------------------------------------------------------
def _split_80_20(dataset: Any) -> tuple[Dataset, Dataset]:
    if len(dataset) < 2:
        raise DatasetError(f"{dataset.name}: {len(dataset)} samples are too few to split into training and test data")
    train, test = random_split(dataset, [0.8, 0.2], seed=0)
    return train, test


def _load_digits(name: str, data_dir: str, download: bool) -> tuple[Dataset, Dataset]:
    return _split_80_20(load_digits())


def _load_npz(name: str, data_dir: str, download: bool) -> tuple[Dataset, Dataset]:
    return _split_80_20(load_npz(name))


def _idx_loader(cls: type) -> Loader:
    def load(name: str, data_dir: str, download: bool) -> tuple[Dataset, Dataset]:
        return cls(data_dir, train=True, download=download), cls(data_dir, train=False, download=download)

    return load


# the digits nets multiply 64×256 matrices: one BLAS thread is as fast, and far faster when
# other processes share the cores (idle threads spin-wait: 30 s instead of 2 s was measured)
register_dataset(
    DataSpec(
        "digits",
        "UCI optical digits, 1,797 images 8×8, embedded; split 80/20 with a fixed seed",
        _load_digits,
        (1, 8, 8),
        10,
        dict(model="fcnet", epochs=30, batch_size=64, lr=2e-3, hidden=(256, 256), dropout=0.2),
        needs_data_dir=False,
        threads=1,
    )
)
register_dataset(
    DataSpec(
        "mnist",
        "MNIST, 60,000 + 10,000 handwritten digits 28×28",
        _idx_loader(MNIST),
        (1, 28, 28),
        10,
        dict(model="mlp", epochs=10, batch_size=128, lr=1e-3, hidden=(512, 256), dropout=0.2),
        normalisation=(0.1307, 0.3081),
    )
)
register_dataset(
    DataSpec(
        "fashion-mnist",
        "Zalando's Fashion-MNIST, 60,000 + 10,000 images 28×28 of 10 kinds of clothing",
        _idx_loader(FashionMNIST),
        (1, 28, 28),
        10,
        dict(model="convnet", epochs=10, batch_size=128, lr=1e-3, hidden=(512, 256), dropout=0.2),
        normalisation=(0.2860, 0.3530),
    )
)
register_dataset(
    DataSpec(
        "cifar10",
        "CIFAR-10, 50,000 + 10,000 colour images 32×32",
        _idx_loader(CIFAR10),
        (3, 32, 32),
        10,
        dict(model="convnet", epochs=20, batch_size=128, lr=1e-3, hidden=(512, 256), dropout=0.2),
        normalisation=((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
        augmentable=True,
    )
)
register_dataset(
    DataSpec(
        "npz",
        "your own PATH.npz with arrays x (samples first) and integer labels y; split 80/20",
        _load_npz,
        None,
        None,
        dict(model="mlp", epochs=20, batch_size=64, lr=1e-3, hidden=(256, 256), dropout=0.1),
        needs_data_dir=False,
    )
)


def _load_text(name: str, data_dir: str, download: bool) -> tuple[Dataset, Dataset]:
    return load_text(name.removeprefix("text:"))


register_dataset(
    DataSpec(
        "text",
        "text:PATH, a UTF-8 text for a character-level language model: windows of 64 characters, the "
        "last 10% held out, scored in bits per character",
        _load_text,
        None,
        None,
        dict(model="char-lstm", epochs=20, batch_size=32, lr=3e-3, hidden=(256,), dropout=0.0),
        needs_data_dir=False,
        threads=1,  # small GEMMs in a loop over time steps: idle BLAS threads only spin
        task="language-model",
    )
)

__all__ = ["DATASETS", "DataSpec", "check_dataset", "dataset_spec", "load_dataset", "register_dataset"]
