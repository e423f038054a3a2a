"""MultiheadAttention with torch's arguments, parameters (in_proj_weight (3E, E), in_proj_bias,
out_proj) and mask conventions. The gradient math is in ops.attention (the fused op) and in the
Linear, Softmax and MatMul ops the need_weights path is built from."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.layers.linear import Linear
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor


def _additive(mask: Any, dtype: np.dtype, what: str) -> np.ndarray | None:
    """A bool mask (True = may NOT attend, torch's MultiheadAttention convention) or a float one
    (added to the scores) as an additive float mask."""
    if mask is None:
        return None
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == bool:
        return np.where(array, -np.inf, 0.0).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool or float, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False)``.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (output, weights or None), where
    output = concat_h(softmax(Q_h K_hᵀ/√d + mask) V_h) W_oᵀ + b_o, Q_h = (query W_qᵀ + b_q) split
    into num_heads heads of d = embed_dim/num_heads. Shapes (L, N, E) / (S, N, E), or (N, L, E)
    with batch_first, or unbatched (L, E). key_padding_mask (N, S) and attn_mask (L, S) or
    (N·num_heads, L, S): bool True means "may not attend", float is added to the scores.
    kdim/vdim, add_bias_kv and add_zero_attn are not supported (query, key and value share E).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        dtype: object = np.float32,
    ):
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Q, K, V (N, heads, len, d): one GEMM for self-attention, three otherwise."""
        w, b, e = self.in_proj_weight, self.in_proj_bias, self.embed_dim
        if query is key and key is value:
            qkv = F.linear(query, w, b)
            parts = [qkv[..., i * e : (i + 1) * e] for i in range(3)]
        else:
            parts = [
                F.linear(x, w[i * e : (i + 1) * e], None if b is None else b[i * e : (i + 1) * e])
                for i, x in enumerate((query, key, value))
            ]
        return tuple(p.reshape(p.shape[0], p.shape[1], self.num_heads, self.head_dim).transpose(1, 2) for p in parts)

    def _mask(self, key_padding_mask: Any, attn_mask: Any, is_causal: bool, n: int, q_len: int, k_len: int, dtype):
        """One additive mask broadcastable to (N, heads, L, S), or None."""
        mask = _additive(attn_mask, dtype, "attn_mask")
        if mask is None and is_causal:
            mask = np.where(np.tril(np.ones((q_len, k_len), dtype=bool)), 0.0, -np.inf).astype(dtype)
        if mask is not None:
            if mask.shape == (n * self.num_heads, q_len, k_len):
                mask = mask.reshape(n, self.num_heads, q_len, k_len)
            elif mask.shape != (q_len, k_len):
                raise ValueError(
                    f"MultiheadAttention: attn_mask must be (L, S) = ({q_len}, {k_len}) or "
                    f"(N·num_heads, L, S) = ({n * self.num_heads}, {q_len}, {k_len}), got {mask.shape}"
                )
        padding = _additive(key_padding_mask, dtype, "key_padding_mask")
        if padding is not None:
            if padding.shape != (n, k_len):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must be (N, S) = ({n}, {k_len}), got {padding.shape}"
                )
            padding = padding[:, None, None, :]
            mask = padding if mask is None else mask + padding
        return mask

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if query.ndim not in (2, 3) or query.shape[-1] != self.embed_dim or key.ndim != query.ndim:
            raise ValueError(
                f"MultiheadAttention: expected query/key/value with embed_dim {self.embed_dim} in the last dim, "
                f"got shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        batched = query.ndim == 3
        same = query is key and key is value
        if not batched:
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))[None]
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if same:
            key = value = query
        n, q_len, k_len = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._project(query, key, value)
        mask = self._mask(key_padding_mask, attn_mask, is_causal, n, q_len, k_len, query.dtype)
        dropout = self.dropout if self.training else 0.0
        weights = None
        if need_weights:  # explicit softmax so that the weights are a tensor of the graph, as in torch
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
            if mask is not None:
                scores = scores + mask
            weights = F.dropout(F.softmax(scores, dim=-1), dropout)
            heads = weights @ v
        else:
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        out = self.out_proj(heads.transpose(1, 2).reshape(n, q_len, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
