"""Scaled dot-product attention as one op (docs/attention-backprop.md derives the backward).

    S = s·Q Kᵀ + M        (s = 1/√E by default; M an additive mask, −∞ where not allowed)
    P = softmax(S) along the keys,   A = P ⊙ D (dropout mask D, scaled by 1/(1 − p), or 1)
    O = A V

Backward, with G = ∂C/∂O: the four matrix products
    ∂C/∂V = Aᵀ G,     ∂C/∂A = G Vᵀ,     ∂C/∂Q = s·(∂C/∂S) K,     ∂C/∂K = s·(∂C/∂S)ᵀ Q,
joined by the softmax Jacobian ∂P_ij/∂S_ik = P_ij(δ_jk − P_ik), applied row by row:
    ∂C/∂P = (∂C/∂A) ⊙ D,   ∂C/∂S = P ⊙ (∂C/∂P − rowsum(∂C/∂P ⊙ P)),   ∂C/∂M = ∂C/∂S.
A masked score has P = 0, so its ∂C/∂S is 0 and no gradient leaks through it. A query whose
every key is masked attends to nothing: its row of P is 0 (not the NaN of 0/0), so its output
and gradients are 0, as torch's scaled_dot_product_attention gives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.autograd import ArrayFunction, Context, sum_to_shape
from bprop.random import generator


def additive_mask(
    attn_mask: np.ndarray | None, is_causal: bool, q_len: int, k_len: int, dtype: np.dtype
) -> np.ndarray | None:
    """torch's mask forms as one additive mask: a bool mask is True where a query may attend
    (False → −∞), a float mask is added to the scores, is_causal allows keys j ≤ i only."""
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
        attn_mask = np.tril(np.ones((q_len, k_len), dtype=bool))
    if attn_mask is None:
        return None
    attn_mask = np.asarray(attn_mask)
    if attn_mask.dtype == bool:
        return np.where(attn_mask, 0.0, -np.inf).astype(dtype)
    return attn_mask


def masked_softmax(scores: np.ndarray) -> np.ndarray:
    """softmax along the last axis, in place; a row of only −∞ becomes 0 instead of NaN."""
    peak = scores.max(axis=-1, keepdims=True)
    peak[~np.isfinite(peak)] = 0.0  # an all −∞ row: exp(−∞ − 0) = 0 everywhere
    scores -= peak
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    scores /= total
    return scores


class ScaledDotProductAttention(ArrayFunction):
    """O = softmax(s·Q Kᵀ + M) V over the last two axes, batched over leading ones (see above).

    q (…, L, E), k (…, S, E), v (…, S, Ev); mask broadcastable to (…, L, S), differentiable if
    it is a float tensor that requires grad.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        q: np.ndarray,
        k: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray | None = None,
        scale: float | None = None,
        dropout_p: float = 0.0,
    ) -> np.ndarray:
        _check_shapes(q, k, v, mask)
        if not 0.0 <= dropout_p < 1.0:
            raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
        scores = q @ np.swapaxes(k, -1, -2)
        scores *= scale
        if mask is not None:
            scores += mask
        probs = masked_softmax(scores)
        keep = None
        if dropout_p > 0:
            keep = (generator().random(probs.shape, dtype=np.float32) >= dropout_p).astype(probs.dtype)
            keep *= np.asarray(1.0 / (1.0 - dropout_p), dtype=probs.dtype)
        attended = probs if keep is None else probs * keep
        ctx.q, ctx.k, ctx.v, ctx.probs, ctx.attended, ctx.keep, ctx.scale = q, k, v, probs, attended, keep, scale
        ctx.mask_shape = None if mask is None else np.shape(mask)
        return attended @ v

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        q, k, v, probs, needs = ctx.q, ctx.k, ctx.v, ctx.probs, ctx.needs_input_grad
        dv = sum_to_shape(np.swapaxes(ctx.attended, -1, -2) @ grad, v.shape) if needs[2] else None
        if not (needs[0] or needs[1] or (len(needs) > 3 and needs[3])):
            return None, None, dv, None
        dprobs = grad @ np.swapaxes(v, -1, -2)  # ∂C/∂A, then ∂C/∂P
        if ctx.keep is not None:
            dprobs *= ctx.keep
        dscores = dprobs  # ∂C/∂S = P ⊙ (∂C/∂P − rowsum(∂C/∂P ⊙ P)), in place
        dscores -= np.einsum("...ij,...ij->...i", dprobs, probs)[..., None]
        dscores *= probs
        dq = sum_to_shape(ctx.scale * (dscores @ k), q.shape) if needs[0] else None
        dk = sum_to_shape(ctx.scale * (np.swapaxes(dscores, -1, -2) @ q), k.shape) if needs[1] else None
        dmask = sum_to_shape(dscores, ctx.mask_shape) if len(needs) > 3 and needs[3] else None
        return dq, dk, dv, dmask


def _check_shapes(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any) -> None:
    op = "scaled_dot_product_attention"
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(
            f"{op}: query, key and value need at least 2 dims (…, L, E), got {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{op}: query {q.shape} and key {k.shape} must have the same last dim E")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: key {k.shape} and value {v.shape} must have the same number of positions S")
    if mask is not None:
        target = (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
        try:
            np.broadcast_shapes(np.shape(mask), target)
        except ValueError:
            raise ValueError(
                f"{op}: attn_mask of shape {np.shape(mask)} does not broadcast to scores {target}"
            ) from None
