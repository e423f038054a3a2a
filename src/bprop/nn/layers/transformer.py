"""TransformerEncoderLayer and TransformerEncoder with torch's arguments, submodule names
(self_attn, linear1, linear2, norm1, norm2, dropout, dropout1, dropout2) and both orders of
normalisation. No gradient math here: attention, Linear, LayerNorm, activations and dropout
each bring their own backward, and the residual sums add their gradients."""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

from bprop.nn.layers.activation import ACTIVATIONS, activation_entry
from bprop.nn.layers.attention import MultiheadAttention
from bprop.nn.layers.dropout import Dropout
from bprop.nn.layers.linear import Linear
from bprop.nn.layers.normalization import LayerNorm
from bprop.nn.module import Module, ModuleList
from bprop.tensor import Tensor


class TransformerEncoderLayer(Module):
    """``TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation='relu', layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)``.

    Post-norm (norm_first=False, the original Transformer):
        x = norm1(x + SA(x)),          x = norm2(x + FF(x))
    Pre-norm (norm_first=True, easier to train deep):
        x = x + SA(norm1(x)),          x = x + FF(norm2(x))
    with SA the self-attention block and FF(x) = linear2(dropout(act(linear1(x)))), each
    followed by its dropout. In pre-norm the residual path x → x carries ∂C/∂x to the layer
    below unchanged (the additive path of the LSTM cell state, in depth instead of time).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: object = np.float32,
    ):
        super().__init__()
        if isinstance(activation, str):  # torch takes these two names
            activation_entry(activation, "TransformerEncoderLayer", allowed=("relu", "gelu"))
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation_name = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
        self.activation = ACTIVATIONS[activation].function if isinstance(activation, str) else activation

    def _self_attention(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False, is_causal=is_causal
        )
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool = False
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def extra_repr(self) -> str:
        return f"activation={self.activation_name}, norm_first={self.norm_first}"


class TransformerEncoder(Module):
    """``TransformerEncoder(encoder_layer, num_layers, norm=None)``: num_layers independent
    copies of encoder_layer (keys layers.0.…, as torch), then the optional final norm."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be at least 1, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool = False
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x if self.norm is None else self.norm(x)
