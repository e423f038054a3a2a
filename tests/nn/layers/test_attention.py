"""MultiheadAttention against torch: weights loaded with from_torch, outputs, attention weights
and every gradient, for self- and cross-attention, masks, batch_first and unbatched input."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import from_torch, to_torch

torch = pytest.importorskip("torch")

E, HEADS, N, L, S = 8, 2, 3, 4, 5


def _pair(batch_first=False, bias=True):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=batch_first, bias=bias).double()
    ours = nn.MultiheadAttention(E, HEADS, batch_first=batch_first, bias=bias)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    return theirs, ours.double()


def _masks(kind, rng):
    padding = np.zeros((N, S), bool)
    padding[0, -2:] = True
    if kind == "none":
        return {}
    if kind == "padding":
        return {"key_padding_mask": padding}
    if kind == "bool":
        return {"attn_mask": rng.random((L, S)) < 0.3, "key_padding_mask": padding}
    return {"attn_mask": rng.standard_normal((N * HEADS, L, S))}


@pytest.mark.parametrize("self_attention", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "padding", "bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_matches_torch(self_attention, batch_first, masks, need_weights):
    rng = np.random.default_rng(0)
    theirs, ours = _pair(batch_first)
    shape = (lambda t: (N, t, E)) if batch_first else (lambda t: (t, N, E))
    k_len = L if self_attention else S
    arrays = [rng.standard_normal(shape(L))] if self_attention else [rng.standard_normal(shape(t)) for t in (L, S, S)]
    mine = [bp.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    kw = {k: v[..., :k_len] for k, v in _masks(masks, rng).items()}  # the masks cut to S = k_len
    qkv_b = mine * 3 if self_attention else mine
    qkv_t = ref * 3 if self_attention else ref
    out_b, w_b = ours(*qkv_b, need_weights=need_weights, **kw)
    out_t, w_t = theirs(*qkv_t, need_weights=need_weights, **{k: torch.tensor(v) for k, v in kw.items()})
    np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-10)
    assert (w_b is None) == (w_t is None)
    if w_b is not None:
        np.testing.assert_allclose(w_b.data, w_t.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out_b.shape)
    out_b.backward(g)
    (out_t * torch.tensor(g)).sum().backward()
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-10)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-10, err_msg=name)


def test_unbatched_per_head_weights_and_no_bias():
    theirs, ours = _pair(bias=False)
    x = np.random.default_rng(1).standard_normal((L, E))
    out_b, w_b = ours(*[bp.tensor(x)] * 3, average_attn_weights=False)
    out_t, w_t = theirs(*[torch.tensor(x)] * 3, average_attn_weights=False)
    np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(w_b.data, w_t.detach().numpy(), atol=1e-10)
    assert w_b.shape == (HEADS, L, L)


def test_state_dict_keys_match_torch_both_ways():
    theirs, ours = _pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(to_torch(ours))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be a positive multiple of num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)
    mha = nn.MultiheadAttention(E, HEADS)
    x = bp.randn(L, N, E)
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(N, S\) = \(3, 4\), got \(4, 3\)"):
        mha(x, x, x, key_padding_mask=np.zeros((L, N), bool))
    with pytest.raises(ValueError, match=r"attn_mask must be \(L, S\) = \(4, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="embed_dim 8 in the last dim"):
        mha(bp.randn(L, N, 3), x, x)
