"""Embedding: a learnt vector per token id, torch's nn.Embedding."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``: weight (num_embeddings,
    embedding_dim) ~ N(0, 1) as in torch; the row ``padding_idx`` starts at zero and gets no
    gradient. forward(indices of any shape) → (*indices.shape, embedding_dim)."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype: object = np.float32
    ):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings {num_embeddings}")
            padding_idx = padding_idx % num_embeddings  # torch stores a negative index as positive
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight._data[padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is a copy of ``embeddings`` (num_embeddings, embedding_dim),
        frozen (requires_grad=False) unless ``freeze=False``; the padding row is kept as given, as
        torch does. max_norm, scale_grad_by_freq and sparse are torch options bprop lacks."""
        for name, value, default in (("max_norm", max_norm, None), ("scale_grad_by_freq", scale_grad_by_freq, False)):
            if value != default:
                raise ValueError(f"Embedding.from_pretrained: {name}={value!r} is not supported by bprop")
        if sparse:
            raise ValueError("Embedding.from_pretrained: sparse=True is not supported by bprop (gradients are dense)")
        del norm_type  # used by max_norm only
        weight = np.array(embeddings, copy=True)
        if weight.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {weight.shape}")
        layer = cls(*weight.shape, padding_idx=padding_idx, dtype=weight.dtype)
        np.copyto(np.asarray(layer.weight), weight)
        layer.weight.requires_grad = not freeze
        return layer

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
