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


def _same_outputs_then_backward(out_b, w_b, out_t, w_t, rng) -> None:
    """bprop's and torch's outputs and attention weights agree; both then backpropagate the same
    random upstream gradient (a sum would hide transposition bugs)."""
    np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-10)
    assert (w_b is None) == (w_t is None)
    if w_b is not None:
        np.testing.assert_allclose(w_b.data, w_t.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out_b.shape)
    out_b.backward(g)
    (out_t * torch.tensor(g)).sum().backward()


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
    _same_outputs_then_backward(out_b, w_b, out_t, w_t, rng)
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


# torch's kdim/vdim, add_bias_kv and add_zero_attn, alone and together; "self" feeds one tensor
# as query, key and value (the packed projection)
KDIM, VDIM = 5, 3
VARIANTS = {
    "kdim_vdim": ({"kdim": KDIM, "vdim": VDIM}, False),
    "bias_kv": ({"add_bias_kv": True}, False),
    "zero_attn_self": ({"add_zero_attn": True}, True),
    "bias_kv_zero_attn_self": ({"add_bias_kv": True, "add_zero_attn": True}, True),
    "all": ({"kdim": KDIM, "vdim": VDIM, "add_bias_kv": True, "add_zero_attn": True}, False),
    "all_no_bias": ({"kdim": KDIM, "vdim": VDIM, "add_bias_kv": True, "add_zero_attn": True, "bias": False}, False),
}


def _variant_pair(options, layout):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, batch_first=layout == "batch_first", **options).double()
    ours = nn.MultiheadAttention(E, HEADS, batch_first=layout == "batch_first", **options)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    return theirs, ours.double()


def _variant_inputs(options, self_attention, layout, rng):
    dims = (E, options.get("kdim", E), options.get("vdim", E))
    lengths = (L, L, L) if self_attention else (L, S, S)

    def shape(t, d):
        return {"unbatched": (t, d), "batch_first": (N, t, d), "seq_first": (t, N, d)}[layout]

    if self_attention:
        return [rng.standard_normal(shape(L, E))] * 3, L
    return [rng.standard_normal(shape(t, d)) for t, d in zip(lengths, dims)], S


def _variant_masks(kind, layout, k_len, rng):
    n = 1 if layout == "unbatched" else N
    padding = np.zeros((n, k_len), bool)
    padding[0, -2:] = True
    padding = padding[0] if layout == "unbatched" else padding  # torch's (S,) for unbatched input
    float_mask = rng.standard_normal((n * HEADS, L, k_len))
    float_padding = np.where(padding, -1e9, 0.0)
    return {
        "none": {},
        "padding": {"key_padding_mask": padding},
        "bool": {"attn_mask": rng.random((L, k_len)) < 0.3, "key_padding_mask": padding},
        "float": {"attn_mask": float_mask if layout != "unbatched" else float_mask[:HEADS]},
        "float_padding": {"attn_mask": rng.standard_normal((L, k_len)), "key_padding_mask": float_padding},
    }[kind]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
@pytest.mark.parametrize("masks", ["none", "padding", "bool", "float", "float_padding"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_kdim_vdim_bias_kv_zero_attn_match_torch(variant, layout, masks, need_weights):
    options, self_attention = VARIANTS[variant]
    rng = np.random.default_rng(1)
    theirs, ours = _variant_pair(options, layout)
    arrays, k_len = _variant_inputs(options, self_attention, layout, rng)
    kw = _variant_masks(masks, layout, k_len, rng)
    unique = list({id(a): a for a in arrays}.values())  # self-attention: one input tensor, as in torch
    mine = {id(a): bp.tensor(a, requires_grad=True) for a in unique}
    ref = {id(a): torch.tensor(a, requires_grad=True) for a in unique}
    out_b, w_b = ours(*[mine[id(a)] for a in arrays], need_weights=need_weights, **kw)
    out_t, w_t = theirs(
        *[ref[id(a)] for a in arrays], need_weights=need_weights, **{k: torch.tensor(v) for k, v in kw.items()}
    )
    _same_outputs_then_backward(out_b, w_b, out_t, w_t, rng)
    for key in mine:
        np.testing.assert_allclose(mine[key].grad, ref[key].grad.numpy(), atol=1e-10)
    theirs_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(theirs_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), atol=1e-10, err_msg=name)


def test_is_causal_with_bias_kv_and_zero_attn_matches_torch_causal_mask():
    """is_causal without a mask builds the (L, S) causal mask before the extra keys are appended,
    as torch does with the mask it requires."""
    options = {"add_bias_kv": True, "add_zero_attn": True, "kdim": KDIM}
    theirs, ours = _variant_pair(options, "batch_first")
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((N, L, E)), rng.standard_normal((N, L, KDIM)), rng.standard_normal((N, L, E))
    causal = np.triu(np.ones((L, L), bool), 1)
    for need_weights in (True, False):
        out_b, _ = ours(bp.tensor(q), bp.tensor(k), bp.tensor(v), is_causal=True, need_weights=need_weights)
        out_t, _ = theirs(*map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(causal), need_weights=need_weights)
        np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-10)


def test_separate_projections_have_torchs_names_shapes_and_init():
    mha = nn.MultiheadAttention(256, 4, kdim=64, vdim=32, add_bias_kv=True, add_zero_attn=True)
    theirs = torch.nn.MultiheadAttention(256, 4, kdim=64, vdim=32, add_bias_kv=True, add_zero_attn=True)
    assert mha.in_proj_weight is None and not mha._qkv_same_embed_dim and mha.add_zero_attn
    shapes = {k: v.shape for k, v in mha.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert shapes["k_proj_weight"] == (256, 64) and shapes["bias_k"] == (1, 1, 256)
    for name, d in (("q_proj_weight", 256), ("k_proj_weight", 64), ("v_proj_weight", 32)):
        bound = np.sqrt(6.0 / (256 + d))  # xavier_uniform_
        w = getattr(mha, name).data
        assert np.abs(w).max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound, name
    for name in ("bias_k", "bias_v"):  # xavier_normal_ of (1, 1, E): fan_in = fan_out = E
        assert abs(np.asarray(getattr(mha, name).data).std() - 1 / 16) < 0.015, name
    assert np.all(mha.in_proj_bias.data == 0) and np.all(mha.out_proj.bias.data == 0)
    same = nn.MultiheadAttention(8, 2, kdim=8, vdim=8)
    assert same._qkv_same_embed_dim and same.q_proj_weight is None and same.bias_k is None


@pytest.mark.parametrize("options", [VARIANTS["all"][0], VARIANTS["bias_kv_zero_attn_self"][0]])
def test_new_parameters_round_trip_with_torch(options):
    theirs, ours = _variant_pair(options, "seq_first")
    torch.manual_seed(1)
    other = torch.nn.MultiheadAttention(E, HEADS, **options).double()  # different weights
    other.load_state_dict(to_torch(ours))
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    back = nn.MultiheadAttention(E, HEADS, **options).double()
    back.load_state_dict(from_torch(other.state_dict()))
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value, err_msg=key)


def test_bad_kdim_vdim_and_mismatched_features_are_named():
    for bad in (0, -3):
        with pytest.raises(ValueError, match=rf"kdim must be a positive integer or None, got {bad}"):
            nn.MultiheadAttention(E, HEADS, kdim=bad)
    with pytest.raises(ValueError, match=r"vdim must be a positive integer or None, got 2\.5"):
        nn.MultiheadAttention(E, HEADS, vdim=2.5)
    mha = nn.MultiheadAttention(E, HEADS, kdim=KDIM, vdim=VDIM)
    q, k, v = bp.randn(L, N, E), bp.randn(S, N, KDIM), bp.randn(S, N, VDIM)
    with pytest.raises(ValueError, match=r"key must have kdim = 5 features in the last dim, got shape \(5, 3, 8\)"):
        mha(q, bp.randn(S, N, E), v)
    with pytest.raises(ValueError, match=r"value must have vdim = 3 features"):
        mha(q, k, k)
    with pytest.raises(ValueError, match=r"key and value must share sequence and batch dims"):
        mha(q, k, bp.randn(S + 1, N, VDIM))
