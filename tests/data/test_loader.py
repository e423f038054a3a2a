"""Dataset, DataLoader and random_split."""

import numpy as np
import pytest

import bprop as bp
from bprop.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def test_batches_cover_the_data_once_per_epoch():
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=1)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == list(range(10))
    assert isinstance(batches[0][0], bp.Tensor) and batches[0][0].dtype == np.float32
    np.testing.assert_array_equal(batches[0][0].numpy()[:, 0], batches[0][1].numpy())


def test_drop_last_and_no_shuffle():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].numpy().tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_repeatable_from_the_global_seed_and_state():
    data = TensorDataset(np.arange(20))
    bp.manual_seed(5)
    first = [b[0].numpy().tolist() for b in DataLoader(data, batch_size=5, shuffle=True)]
    bp.manual_seed(5)
    again = DataLoader(data, batch_size=5, shuffle=True)
    assert [b[0].numpy().tolist() for b in again] == first
    state = again.state_dict()
    next_epoch = [b[0].numpy().tolist() for b in again]
    again.load_state_dict(state)
    assert [b[0].numpy().tolist() for b in again] == next_epoch


def test_generic_datasets_are_stacked_and_transforms_apply_to_inputs():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i, np.float32), i * i

    x, y = next(iter(DataLoader(Squares(), batch_size=5, transform=lambda b: b * 10)))
    assert x.shape == (5, 2) and x.numpy()[4, 0] == 40 and y.numpy().tolist() == [0, 1, 4, 9, 16]


def test_array_datasets_are_batched_without_reading_single_items():
    class Counting(TensorDataset):
        reads = 0

        def __getitem__(self, index):
            Counting.reads += 1
            return super().__getitem__(index)

    data = Counting(np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6))
    subset = Subset(data, [5, 3, 1])
    x, y = next(iter(DataLoader(subset, batch_size=3)))
    assert y.numpy().tolist() == [5, 3, 1] and x.numpy()[0].tolist() == [10, 11]
    assert Counting.reads == 0


def test_random_split_fractions_and_counts():
    data = TensorDataset(np.arange(10))
    a, b = random_split(data, [0.7, 0.3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    assert sorted(np.concatenate([a.arrays()[0], b.arrays()[0]]).tolist()) == list(range(10))
    assert [len(s) for s in random_split(data, [0.5, 0.25, 0.25], seed=0)] == [6, 2, 2]  # remainder first
    assert [len(s) for s in random_split(data, [1.0, 0.0], seed=0)] == [10, 0]
    bp.manual_seed(1)
    first = random_split(data, [5, 5])[0].indices
    bp.manual_seed(1)
    np.testing.assert_array_equal(random_split(data, [5, 5])[0].indices, first)
    with pytest.raises(ValueError, match="do not add up"):
        random_split(data, [3, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(data, [0.5, 0.4])


def test_bad_arguments():
    with pytest.raises(ValueError, match="different lengths"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
    with pytest.raises(TypeError, match=r"expected a bprop.data.Dataset"):
        DataLoader(np.zeros(3))
