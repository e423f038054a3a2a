"""The Embedding layer: torch's init, padding row, state dict and parity."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import from_torch


def test_padding_row_starts_at_zero_and_stays_there_under_training():
    emb = nn.Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4
    np.testing.assert_array_equal(emb.weight.data[4], 0)
    emb(np.array([[4, 1], [4, 4]])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[4], 0)
    assert emb.weight.grad[1].sum() == 3


def test_matches_torch_after_loading_its_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(7, 4, padding_idx=0)
    ours = nn.Embedding(7, 4, padding_idx=0)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    idx = np.array([[0, 3, 6], [2, 2, 1]])
    np.testing.assert_array_equal(ours(bp.tensor(idx)).data, theirs(torch.tensor(idx)).detach().numpy())
    assert repr(ours) == "Embedding(7, 4, padding_idx=0)"


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_embeddings must be a positive integer"):
        nn.Embedding(0, 3)
    with pytest.raises(ValueError, match="padding_idx 5 must be within num_embeddings 5"):
        nn.Embedding(5, 3, padding_idx=5)


def test_from_pretrained_copies_freezes_and_matches_torch():
    torch = pytest.importorskip("torch")
    vectors = np.random.default_rng(0).standard_normal((5, 3))
    layer = nn.Embedding.from_pretrained(vectors, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(vectors), padding_idx=1)
    ids = np.array([[0, 1, 4], [2, 2, 3]])
    np.testing.assert_array_equal(np.asarray(layer(ids)), theirs(torch.tensor(ids)).detach().numpy())
    assert not layer.weight.requires_grad and layer.padding_idx == 1 and layer.weight.dtype == np.float64
    vectors[0] = 0  # a copy: the layer keeps its own weight
    assert np.asarray(layer.weight)[0].any()
    trainable = nn.Embedding.from_pretrained(bp.tensor(vectors), freeze=False)
    trainable(ids).sum().backward()
    assert trainable.weight.grad is not None
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding.from_pretrained(vectors, max_norm=1.0)
