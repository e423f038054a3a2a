"""default_collate: a list of samples made into one batch, as torch's: Tensors and arrays are
stacked along a new first dim, Python ints become an int64 tensor and floats a float64 one (as in
torch), tuples and lists are collated position by position, dicts key by key, strings kept as a
list. The DataLoader uses it for datasets that are not array-backed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bprop.tensor import Tensor


def default_collate(batch: list[Any]) -> Any:
    """One batch from a list of samples (all of the same structure)."""
    if not batch:
        raise ValueError("default_collate: the batch is empty")
    first = batch[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return Tensor._from_op(np.stack([np.asarray(sample) for sample in batch]), None)
    if isinstance(first, bool):
        return Tensor._from_op(np.array(batch, dtype=np.bool_), None)
    if isinstance(first, int):
        return Tensor._from_op(np.array(batch, dtype=np.int64), None)
    if isinstance(first, float):
        return Tensor._from_op(np.array(batch, dtype=np.float64), None)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise ValueError("default_collate: samples in one batch have different lengths")
        columns = [default_collate(list(column)) for column in zip(*batch)]
        return tuple(columns) if isinstance(first, tuple) else columns
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__} "
        "(Tensors, arrays, numbers, strings, and tuples, lists or dicts of them can be)"
    )
