"""Datasets. A batch is read with ``gather(indices)``: array-backed datasets (TensorDataset,
ArrayDataset, Subset of them) take it with one fancy index per array instead of a Python loop
over samples, and a Subset composes its indices with the batch's, so it never copies its rows."""

from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np

from bprop.random import generator
from bprop.tensor import Tensor


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i) -> (x, y)``."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def arrays(self) -> tuple[np.ndarray, ...] | None:
        """All samples as arrays with the sample axis first, when the dataset holds them so."""
        return None

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The samples at ``indices`` as a batch of arrays (x, y, …). This default stacks the
        items one by one; array-backed datasets override it with one fancy index per array."""
        items = [self[int(i)] for i in indices]
        return tuple(np.stack([np.asarray(item[k]) for item in items]) for k in range(len(items[0])))

    def array_backed(self) -> bool:
        """Whether ``gather`` reads a batch with one fancy index per array (the DataLoader then
        skips collating samples one by one)."""
        return False

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given arrays or Tensors (all of one length)."""

    def __init__(self, *tensors: Any):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(np.asarray(t) for t in tensors)
        lengths = {len(t) for t in self.tensors}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {[len(t) for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        """Sample ``index`` as Tensors (x, y, …), as torch's TensorDataset gives them."""
        return tuple(Tensor._from_op(np.asarray(t[index]), None) for t in self.tensors)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.tensors

    def array_backed(self) -> bool:
        return True

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(t[indices] for t in self.tensors)


class ArrayDataset(TensorDataset):
    """Inputs x and integer labels y, with the class names of a classification data set."""

    def __init__(self, x: np.ndarray, y: np.ndarray, classes: Sequence[str] | None = None, name: str = ""):
        super().__init__(x, y)
        self.name = name
        self._classes = None if classes is None else list(classes)

    @property
    def classes(self) -> list[str]:
        """The class names, by default "0"…"max label": made when first asked for, so that a stray
        label (2⁴⁰) reaches the data checks that name it instead of a list of 2⁴⁰ names."""
        if self._classes is None:
            labels = self.tensors[1]
            self._classes = [str(c) for c in range(int(labels.max()) + 1 if len(labels) else 0)]
        return self._classes

    @classes.setter
    def classes(self, names: Sequence[str]) -> None:
        self._classes = list(names)

    @property
    def data(self) -> np.ndarray:
        return self.tensors[0]

    @property
    def targets(self) -> np.ndarray:
        return self.tensors[1]

    def __repr__(self) -> str:
        described = f"x {self.data.shape} {self.data.dtype}, {len(self.classes)} classes"
        return f"{type(self).__name__}({self.name or 'arrays'}: {described})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``; array-backed when ``dataset`` is."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def arrays(self) -> tuple[np.ndarray, ...] | None:
        """A copy of the subset's rows (``gather`` reads batches without this copy)."""
        base = self.dataset.arrays()
        return None if base is None else tuple(a[self.indices] for a in base)

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return self.dataset.gather(self.indices[indices])

    def array_backed(self) -> bool:
        return self.dataset.array_backed()


class ConcatDataset(Dataset):
    """The samples of several datasets one after another (``a + b`` makes one too)."""

    def __init__(self, datasets: Sequence[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def _locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each global index: which dataset holds it, and its index there."""
        indices = np.asarray(indices, dtype=np.int64)
        indices = np.where(indices < 0, indices + len(self), indices)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"ConcatDataset: index out of range for {len(self)} samples")
        which = np.searchsorted(self.cumulative_sizes, indices, side="right")
        starts = np.array([0, *self.cumulative_sizes[:-1]], dtype=np.int64)
        return which, indices - starts[which]

    def __getitem__(self, index: int) -> Any:
        which, local = self._locate(np.array([index]))
        return self.datasets[int(which[0])][int(local[0])]

    def array_backed(self) -> bool:
        return all(d.array_backed() for d in self.datasets)

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        which, local = self._locate(indices)
        columns: list[np.ndarray] | None = None
        for k, dataset in enumerate(self.datasets):
            chosen = which == k
            if not chosen.any():
                continue
            part = dataset.gather(local[chosen])
            if columns is None:
                columns = [np.empty((len(indices), *p.shape[1:]), dtype=p.dtype) for p in part]
            for column, values in zip(columns, part):
                column[chosen] = values
        return tuple(columns or ())


def random_split(dataset: Dataset, lengths: Sequence[float], seed: int | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths, or of the given fractions
    (floats summing to 1; the samples left over by rounding down go one each to the first subsets,
    as in torch). The order comes from ``seed``, or else from the global bprop generator."""
    n = len(dataset)
    if any(isinstance(f, float) for f in lengths):
        if any(not 0 <= f <= 1 for f in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
            raise ValueError(f"random_split: fractions {list(lengths)} must lie in [0, 1] and sum to 1")
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(c) for c in lengths]
    if sum(counts) != n or min(counts, default=0) < 0:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the dataset size {n}")
    rng = np.random.default_rng(seed) if seed is not None else generator()
    order = rng.permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[lo:hi]) for lo, hi in itertools.pairwise(bounds)]
