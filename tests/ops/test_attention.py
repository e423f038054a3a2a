"""Scaled dot-product attention through F (the op's gradcheck of q, k, v and a float mask over
batch shapes is in the op table, op_db.py): torch parity with bool, float and causal masks, a
fully masked query, masked keys, extremes, NaN, dropout and errors."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F

L, S, E = 3, 4, 5
BOOL_MASK = np.array([[1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)


def _qkv(batch=(2,)):
    return rand(*batch, L, E), rand(*batch, S, E, seed=1), rand(*batch, S, 2, seed=2)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"attn_mask": BOOL_MASK}, {"attn_mask": rand(L, S, seed=4)}, {"is_causal": True}, {"scale": 0.3}],
    ids=["plain", "bool", "float", "causal", "scale"],
)
def test_torch_parity(kwargs):
    torch = pytest.importorskip("torch")
    theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    torch_parity(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, **theirs),
        *_qkv((2, 3)),
    )


def test_a_query_with_every_key_masked_gives_zeros_like_torch():
    torch = pytest.importorskip("torch")
    mask = BOOL_MASK.copy()
    mask[1] = False
    torch_parity(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
        *_qkv(),
    )


def test_masked_keys_get_no_gradient():
    q, k, v = (bp.tensor(a, requires_grad=True) for a in _qkv(()))
    only_first = np.zeros((L, S), bool)
    only_first[:, 0] = True
    F.scaled_dot_product_attention(q, k, v, attn_mask=only_first).backward(rand(L, 2, seed=5))
    np.testing.assert_array_equal(k.grad, 0)  # one allowed key: P = 1 exactly, so ∂C/∂S = 0
    np.testing.assert_array_equal(v.grad[1:], 0)


def test_huge_scores_do_not_overflow_and_nan_stays_in_its_row():
    q, k, v = _qkv(())
    out = F.scaled_dot_product_attention(bp.tensor(q * 1e4), bp.tensor(k), bp.tensor(v)).data
    assert np.all(np.isfinite(out))
    q[1, 0] = np.nan
    out = F.scaled_dot_product_attention(bp.tensor(q), bp.tensor(k), bp.tensor(v)).data
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()


def test_dropout_mask_is_kept_for_backward():
    def fn(q, k, v):
        bp.manual_seed(0)  # the same mask at every finite-difference evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    check(fn, *_qkv())


def test_float32_throughout():
    assert_float32_throughout(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), *_qkv())


def test_errors_name_the_shapes():
    q, k, v = (bp.tensor(a) for a in _qkv())
    with pytest.raises(ValueError, match=r"query \(2, 3, 5\) and key \(2, 4, 4\) must have the same last dim"):
        F.scaled_dot_product_attention(q, bp.tensor(np.zeros((2, S, 4))), v)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(2, 2\) does not broadcast to scores \(2, 3, 4\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=BOOL_MASK, is_causal=True)


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_grouped_query_attention_matches_torch(kv_heads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(kv_heads)
    q, k, v = (
        rng.standard_normal((2, 4, 3, 5)),
        rng.standard_normal((2, kv_heads, 6, 5)),
        rng.standard_normal((2, kv_heads, 6, 2)),
    )
    torch_parity(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
        q,
        k,
        v,
    )


def test_grouped_query_attention_needs_a_multiple_of_the_heads():
    q, kv = bp.randn(1, 4, 2, 3), bp.randn(1, 3, 2, 3)
    with pytest.raises(ValueError, match="4 heads must be a multiple of the key/value's 3"):
        F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)
