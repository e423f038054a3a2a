"""TransformerEncoderLayer and TransformerEncoder against torch (weights via from_torch): outputs
and every gradient, post- and pre-norm, ReLU and GELU, masks, batch_first."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import from_torch, to_torch

torch = pytest.importorskip("torch")

D, HEADS, FF, N, L = 8, 2, 16, 3, 5


def _compare(ours, theirs, x, **masks):
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_b = ours(xb, **masks)
    out_t = theirs(xt, **{k: torch.tensor(v) for k, v in masks.items()})
    np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-9)
    g = np.random.default_rng(5).standard_normal(out_b.shape)
    out_b.backward(g)
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xb.grad, xt.grad.numpy(), atol=1e-9)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-9, err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_matches_torch(norm_first, activation, batch_first):
    kw = dict(dim_feedforward=FF, dropout=0.0, activation=activation, batch_first=batch_first, norm_first=norm_first)
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(D, HEADS, **kw).double()
    ours = nn.TransformerEncoderLayer(D, HEADS, **kw)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    x = np.random.default_rng(0).standard_normal((N, L, D) if batch_first else (L, N, D))
    padding = np.zeros((N, L), bool)
    padding[1, -2:] = True
    _compare(ours.double(), theirs, x, src_key_padding_mask=padding)


def test_encoder_stack_with_causal_mask_and_final_norm_matches_torch():
    torch.manual_seed(1)
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=True, norm_first=True)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, HEADS, **kw), 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False
    ).double()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, **kw), 2, norm=nn.LayerNorm(D))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(from_torch(theirs.state_dict()))
    causal = np.triu(np.ones((L, L), bool), k=1)  # torch's convention: True = may not attend
    _compare(ours.double(), theirs, np.random.default_rng(2).standard_normal((N, L, D)), mask=causal)
    theirs.load_state_dict(to_torch(ours))


def test_dropout_acts_only_in_training():
    layer = nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.5)
    x = bp.randn(L, N, D)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not np.allclose(layer(x).data, layer(x).data)


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="activation must be one of 'relu', 'gelu', got 'swish'"):
        nn.TransformerEncoderLayer(D, HEADS, activation="swish")
