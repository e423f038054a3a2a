"""The embedding lookup: gradient = scatter-add of the output gradients into the looked-up rows."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
import bprop.nn.functional as F
from bprop.ops.embedding import Embedding

INDICES = np.array([[0, 2, 2], [4, 0, 1]])


def test_gradient_is_the_sum_over_positions_and_padding_gets_none():
    w = bp.tensor(rand(5, 3), requires_grad=True)
    g = rand(2, 3, 3, seed=1)
    Embedding.apply(INDICES, w, padding_idx=2).backward(g)
    expected = np.zeros((5, 3))
    for pos, k in np.ndenumerate(INDICES):
        expected[k] += g[pos]
    expected[2] = 0
    np.testing.assert_allclose(w.grad, expected)


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)])
def test_torch_parity_any_index_shape(shape):
    torch = pytest.importorskip("torch")
    idx = np.random.default_rng(0).integers(0, 6, shape)
    w = rand(6, 4)
    ours, theirs = bp.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.embedding(idx, ours, padding_idx=-1)
    ref = torch.nn.functional.embedding(torch.tensor(idx), theirs, padding_idx=5)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    g = rand(*out.shape, seed=2)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy())


def test_nan_rows_stay_in_their_row():
    w = rand(3, 2)
    w[1, 0] = np.nan
    out = Embedding.apply(np.array([0, 1, 2]), bp.tensor(w)).data
    assert np.isnan(out[1, 0]) and not np.isnan(np.delete(out, 1, axis=0)).any()


def test_bad_indices_are_named():
    w = bp.tensor(rand(3, 2))
    with pytest.raises(IndexError, match="index 3 is out of range for 3 embeddings"):
        Embedding.apply(np.array([0, 3]), w)
    with pytest.raises(IndexError, match="index -1"):
        Embedding.apply(np.array([-1]), w)
    with pytest.raises(TypeError, match="indices must be integers, got dtype float64"):
        Embedding.apply(np.array([0.5]), w)
