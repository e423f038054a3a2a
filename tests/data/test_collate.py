"""Datasets yield Tensors, default_collate batches tuples and dicts, ConcatDataset joins."""

from __future__ import annotations

import numpy as np
import pytest

import bprop as bp
from bprop.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


class Records(Dataset):
    """Not array-backed: samples are dicts, read one by one."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> dict:
        return {"x": np.full(2, float(i), dtype=np.float32), "y": i, "name": f"s{i}"}


def test_tensor_dataset_items_are_tensors() -> None:
    ds = TensorDataset(bp.randn(4, 3), bp.arange(4))
    x, y = ds[2]
    assert isinstance(x, bp.Tensor) and isinstance(y, bp.Tensor) and x.shape == (3,) and y.item() == 2


def test_default_collate_over_tuples_dicts_and_numbers() -> None:
    batch = default_collate([(np.ones(2), 1, 0.5), (np.zeros(2), 2, 1.5)])
    assert isinstance(batch, tuple) and batch[0].shape == (2, 2)
    assert batch[1].dtype == np.int64 and batch[2].dtype == np.float64  # as torch
    records = default_collate([Records()[0], Records()[1]])
    assert set(records) == {"x", "y", "name"} and records["x"].shape == (2, 2) and records["name"] == ["s0", "s1"]
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object()])


def test_loader_batches_a_dict_dataset_and_takes_collate_fn() -> None:
    batches = list(DataLoader(Records(), batch_size=2, num_workers=0))
    assert [np.asarray(b["y"]).tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    counted = list(DataLoader(Records(), batch_size=5, collate_fn=len))
    assert counted == [5]


def test_num_workers_other_than_zero_is_one_clear_line() -> None:
    with pytest.raises(ValueError, match=r"num_workers=2: .*use num_workers=0") as info:
        DataLoader(Records(), num_workers=2)
    assert "\n" not in str(info.value)


def test_concat_and_subset_batch_by_fancy_index() -> None:
    a = TensorDataset(np.arange(4.0).reshape(4, 1), np.arange(4))
    b = TensorDataset(np.arange(10.0, 13.0).reshape(3, 1), np.arange(10, 13))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 7 and both.array_backed()
    assert both[5][1].item() == 11 and both[-1][1].item() == 12
    ((x, y),) = DataLoader(Subset(both, [6, 0, 4]), batch_size=3)
    assert np.asarray(y).tolist() == [12, 0, 10] and np.asarray(x)[:, 0].tolist() == [12.0, 0.0, 10.0]
    mixed = ConcatDataset([Records(), Records()])
    assert not mixed.array_backed() and len(list(DataLoader(mixed, batch_size=4))) == 3
    parts = random_split(both, [0.5, 0.5], seed=0)
    assert sorted(len(p) for p in parts) == [3, 4]
