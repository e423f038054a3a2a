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

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
