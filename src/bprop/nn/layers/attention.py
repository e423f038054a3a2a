"""MultiheadAttention with torch's arguments, parameters (in_proj_weight (3E, E) or
q_/k_/v_proj_weight, in_proj_bias, bias_k/bias_v, out_proj) and mask conventions. The gradient
math is in ops.attention (the fused op) and in the Linear, Softmax, MatMul, Concatenate and Pad
ops the rest is built from."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.layers.linear import Linear
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor
from bprop.tensor_functions import cat, pad


def _additive(mask: Any, dtype: np.dtype, what: str) -> np.ndarray | None:
    """A bool mask (True = may NOT attend, torch's MultiheadAttention convention) or a float one
    (added to the scores) as an additive float mask."""
    if mask is None:
        return None
    array = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype == bool:
        return np.where(array, -np.inf, 0.0).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool or float, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def _dim(value: int | None, default: int, name: str) -> int:
    """kdim/vdim: None means embed_dim, as in torch."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"MultiheadAttention: {name} must be a positive integer or None, got {value!r}")
    return int(value)


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)``.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (output, weights or None), where
    output = concat_h(softmax(Q_h K_hᵀ/√d + mask) V_h) W_oᵀ + b_o, Q_h = (query W_qᵀ + b_q) split
    into num_heads heads of d = embed_dim/num_heads. Shapes (L, N, E) / (S, N, kdim|vdim), or
    (N, L, E) with batch_first, or unbatched (L, E). key_padding_mask (N, S) and attn_mask (L, S)
    or (N·num_heads, L, S): bool True means "may not attend", float is added to the scores.

    As in torch: with kdim or vdim ≠ embed_dim the projections are separate parameters
    q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim) and in_proj_weight is
    None (``_qkv_same_embed_dim`` False); in_proj_bias (3E) stays packed. add_bias_kv appends the
    learnt bias_k, bias_v (1, 1, E) to the projected keys and values, add_zero_attn then appends a
    zero key and value to every head; the masks get one allowed column for each, so S grows by up
    to 2 in the attention weights.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
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
        self.kdim, self.vdim = _dim(kdim, embed_dim, "kdim"), _dim(vdim, embed_dim, "vdim")
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        # registration order = torch's, so that state-dict keys come in the same order
        self._make_projections(dtype)
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        for name in ("bias_k", "bias_v"):
            if add_bias_kv:
                setattr(self, name, init.xavier_normal_(Parameter(np.empty((1, 1, embed_dim), dtype=dtype))))
            else:
                self.register_parameter(name, None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _make_projections(self, dtype: object) -> None:
        """One packed in_proj_weight (3E, E) when query, key and value share E, else three."""
        e = self.embed_dim
        shapes = {"in_proj_weight": (3 * e, e)}
        if not self._qkv_same_embed_dim:
            shapes = {"q_proj_weight": (e, e), "k_proj_weight": (e, self.kdim), "v_proj_weight": (e, self.vdim)}
        for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_weight"):
            if name in shapes:
                setattr(self, name, init.xavier_uniform_(Parameter(np.empty(shapes[name], dtype=dtype))))
            else:
                self.register_parameter(name, None)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Q (N, L, E), K and V (N, S, E): one GEMM for self-attention, three otherwise."""
        b, e = self.in_proj_bias, self.embed_dim
        biases = [None if b is None else b[i * e : (i + 1) * e] for i in range(3)]
        if not self._qkv_same_embed_dim:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
            return tuple(F.linear(x, w, c) for x, w, c in zip((query, key, value), weights, biases))
        w = self.in_proj_weight
        if query is key and key is value:
            qkv = F.linear(query, w, b)
            return tuple(qkv[..., i * e : (i + 1) * e] for i in range(3))
        return tuple(F.linear(x, w[i * e : (i + 1) * e], biases[i]) for i, x in enumerate((query, key, value)))

    def _heads(self, x: Tensor) -> Tensor:
        """(N, T, E) → (N, heads, T, d)."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def _keys_and_values(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """K, V (N, heads, S', d) with torch's extra positions: the learnt bias_k/bias_v appended
        to every sequence before the head split, then a zero key/value to every head."""
        if self.bias_k is not None:
            batch = np.zeros((k.shape[0], 1, self.embed_dim), dtype=k.dtype)  # broadcasts (1, 1, E) over N
            k, v = cat([k, self.bias_k + batch], dim=1), cat([v, self.bias_v + batch], dim=1)
        k, v = self._heads(k), self._heads(v)
        if self.add_zero_attn:
            k, v = pad(k, (0, 0, 0, 1)), pad(v, (0, 0, 0, 1))
        return k, v

    def _extra_keys(self) -> int:
        return int(self.bias_k is not None) + int(self.add_zero_attn)

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
        if mask is not None and self._extra_keys():  # bias_k and the zero key may always be attended
            mask = np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, self._extra_keys())])
        return mask

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        if query.ndim not in (2, 3) or query.shape[-1] != self.embed_dim or not key.ndim == value.ndim == query.ndim:
            raise ValueError(
                f"MultiheadAttention: expected query/key/value with embed_dim {self.embed_dim} in the last dim, "
                f"got shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        for name, x, dim in (("key", key, self.kdim), ("value", value, self.vdim)):
            if x.shape[-1] != dim:
                raise ValueError(
                    f"MultiheadAttention: {name} must have {'kdim' if name == 'key' else 'vdim'} = {dim} features "
                    f"in the last dim, got shape {tuple(x.shape)}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"MultiheadAttention: key and value must share sequence and batch dims, "
                f"got shapes {tuple(key.shape)} and {tuple(value.shape)}"
            )

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
        self._check_inputs(query, key, value)
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
        q, (k, v) = self._heads(q), self._keys_and_values(k, v)
        mask = self._mask(key_padding_mask, attn_mask, is_causal, n, q_len, k_len, query.dtype)
        heads, weights = self._attend(q, k, v, mask, need_weights)
        out = self.out_proj(heads.transpose(1, 2).reshape(n, q_len, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Any, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """The heads (N, heads, L, d) and, with need_weights, the attention weights."""
        dropout = self.dropout if self.training else 0.0
        if not need_weights:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout), None
        # explicit softmax so that the weights are a tensor of the graph, as in torch
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if mask is not None:
            scores = scores + mask
        weights = F.dropout(F.softmax(scores, dim=-1), dropout)
        return weights @ v, weights

    def extra_repr(self) -> str:
        extras = "".join(
            f", {name}={value}"
            for name, value, default in (
                ("kdim", self.kdim, self.embed_dim),
                ("vdim", self.vdim, self.embed_dim),
                ("add_bias_kv", self.bias_k is not None, False),
                ("add_zero_attn", self.add_zero_attn, False),
            )
            if value != default
        )
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}{extras}"
