"""Shape ops: reshape, permute, indexing, concatenate, stack, pad."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp


def test_reshape_transpose_permute_flatten():
    check(lambda x: x.reshape(6, 4) * bp.tensor(rand(4, seed=1)), rand(2, 3, 4))
    check(lambda x: x.transpose(0, 2), rand(2, 3, 4))
    check(lambda x: x.permute(2, 0, 1).reshape(-1), rand(2, 3, 4))
    check(lambda x: x.flatten(1), rand(2, 3, 4))
    check(lambda x: x.T @ bp.tensor(rand(2, 2, seed=1)), rand(2, 3))
    check(lambda x: x.unsqueeze(1).squeeze(), rand(3, 4))


INDICES = [
    (slice(1, None),),
    (slice(None, None, -2),),
    (1,),
    (Ellipsis, 0),
    (None, slice(0, 2)),
    (np.array([0, 2, 2, 1]),),
    (np.array([0, 1]), np.array([2, 2])),
    (slice(None), np.array([3, 0, 3])),
]


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_getitem_gradcheck_and_parity(index):
    check(lambda x: x[index], rand(3, 4))
    torch = pytest.importorskip("torch")

    def theirs(x):
        parts = tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in index)
        if any(isinstance(p, slice) and p.step and p.step < 0 for p in parts):
            return x.flip(0)[::2]
        return x[parts]

    torch_parity(lambda x: x[index], theirs, rand(3, 4))


def test_getitem_boolean_mask_and_repeats_accumulate():
    x = bp.tensor(rand(5), requires_grad=True)
    mask = x.data > 0
    x[mask].sum().backward()
    np.testing.assert_array_equal(x.grad, mask.astype(float))
    y = bp.tensor(rand(3), requires_grad=True)
    y[bp.tensor([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(y.grad, [2.0, 0.0, 1.0])


def test_concatenate_and_stack():
    check(lambda a, b: bp.cat([a, b], dim=1), rand(2, 3), rand(2, 1, seed=1))
    check(lambda a, b: bp.stack([a, b], dim=-1), rand(2, 3), rand(2, 3, seed=1))
    torch = pytest.importorskip("torch")
    torch_parity(lambda a, b: bp.cat([a, b], dim=0), lambda a, b: torch.cat([a, b], dim=0),
                 rand(2, 3), rand(4, 3, seed=1))
    torch_parity(lambda a, b: bp.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1),
                 rand(2, 3), rand(2, 3, seed=1))


def test_pad_matches_torch():
    check(lambda x: bp.pad(x, (1, 2, 0, 1)), rand(2, 3, 4))
    torch = pytest.importorskip("torch")
    torch_parity(lambda x: bp.pad(x, (1, 2, 0, 1), value=0.5),
                 lambda x: torch.nn.functional.pad(x, (1, 2, 0, 1), value=0.5), rand(2, 3, 4))


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        bp.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="one shape"):
        bp.stack([bp.ones(2), bp.ones(3)])
    with pytest.raises(IndexError, match=r"shape \(2,\)"):
        bp.ones(2)[5]
