"""DataLoader: batches of Tensors, shuffled by its own seeded generator.

One permutation per epoch is drawn and each batch is ``dataset.gather`` of its slice of it: a
single fancy index per array for array-backed datasets, so no Python loop over samples and no
copy of the whole data set per epoch. Other datasets are batched by stacking their items.

The loader knows how far into an epoch it is: ``state_dict()`` taken mid-epoch holds the
generator as it was before the epoch's permutation and the number of batches handed out, so a
loader restored from it draws the same permutation and carries on with the next batch.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterator

import numpy as np

from bprop.data.collate import default_collate
from bprop.data.dataset import Dataset
from bprop.random import generator
from bprop.tensor import Tensor


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors (x, y, …).

    Array-backed datasets (TensorDataset, the built-in data sets, Subsets and concatenations of
    them) are batched with one fancy index per array; any other dataset is read sample by sample
    and batched by ``collate_fn`` (default: ``default_collate``: tuples, lists and dicts of
    Tensors, arrays and numbers).

    ``transform`` is applied to each batch of inputs (the first array) as a NumPy array, so
    augmentations work on the whole batch at once. The shuffling generator is seeded with
    ``seed``, or from the global bprop generator, so ``bp.manual_seed`` makes runs repeatable;
    ``state_dict()`` captures it for exact resumption.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        seed: int | None = None,
        sampler: Any = None,
        *,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ):
        if num_workers:
            raise ValueError(
                f"DataLoader: num_workers={num_workers}: bprop reads batches in the main process "
                "only; use num_workers=0 (a batch of an in-memory data set is one fancy index)"
            )
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"DataLoader: expected a bprop.data.Dataset (e.g. TensorDataset(x, y)), got {type(dataset).__name__}"
            )
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.drop_last, self.transform = drop_last, transform
        self.collate_fn = collate_fn  # None: array-backed datasets batch by gather, others by default_collate
        self.pin_memory = pin_memory  # accepted for torch's scripts; CPU memory needs no pinning
        self.sampler = sampler  # e.g. a DistributedSampler: it then decides the order (and shuffling)
        seed = int(generator().integers(2**63)) if seed is None else seed
        self.generator = np.random.default_rng(seed)
        self._epoch_state: dict[str, Any] | None = None  # the generator before this epoch's permutation
        self._position: int | None = None  # batches handed out in the current epoch; None between epochs
        self._resume_at = 0  # the batch to start the next iteration at (set by load_state_dict)

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        first, self._resume_at = self._resume_at, 0
        self._epoch_state = copy.deepcopy(self.generator.bit_generator.state)
        if self.sampler is not None:
            order = self.sampler.indices()
        else:
            n = len(self.dataset)
            order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        self._position = first
        for start in range(first * self.batch_size, len(self) * self.batch_size, self.batch_size):
            batch = self._batch(order[start : start + self.batch_size])
            self._position += 1
            yield batch
        self._position = None

    def _batch(self, indices: np.ndarray) -> Any:
        if self.collate_fn is not None or not self.dataset.array_backed():
            batch = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])
            return batch if self.transform is None else self._transformed(batch)
        columns = list(self.dataset.gather(indices))
        if self.transform is not None:
            columns[0] = self.transform(columns[0])
        # the gathered arrays are fresh: wrap them without the copy Tensor() would make
        return tuple(Tensor._from_op(np.asarray(c), None) for c in columns)

    def _transformed(self, batch: Any) -> Any:
        """``transform`` applied to the inputs (first element) of a collated batch."""
        if not isinstance(batch, (tuple, list)):
            return Tensor._from_op(np.asarray(self.transform(np.asarray(batch))), None)
        first = Tensor._from_op(np.asarray(self.transform(np.asarray(batch[0]))), None)
        return type(batch)([first, *batch[1:]])

    @property
    def mid_epoch(self) -> bool:
        """True between the first and the last batch of an epoch."""
        return self._position is not None and 0 < self._position < len(self)

    def state_dict(self) -> dict[str, Any]:
        if self.mid_epoch:
            state: dict[str, Any] = {"generator": self._epoch_state, "position": self._position}
        else:
            state = {"generator": self.generator.bit_generator.state, "position": 0}
        if self.sampler is not None and hasattr(self.sampler, "state_dict"):
            state["sampler"] = self.sampler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.bit_generator.state = state["generator"]
        self._resume_at = int(state.get("position", 0))
        if "sampler" in state and self.sampler is not None:
            self.sampler.load_state_dict(state["sampler"])
