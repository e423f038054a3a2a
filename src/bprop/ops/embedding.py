"""Embedding lookup: row i of the weight matrix for every index i.

A lookup is a matrix product with one-hot rows, y = onehot(idx) W, so its gradient is the
transposed product ∂C/∂W = onehot(idx)ᵀ ∂C/∂y: each weight row receives the sum of the output
gradients of every position that looked it up. That sum is a scatter-add (np.add.at), never a
dense one-hot matrix.
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import ArrayFunction, Context


class Embedding(ArrayFunction):
    """y[…, :] = W[idx[…], :] for integer idx of any shape and W (num_embeddings, dim).

    ∂C/∂W[k] = Σ_{positions p with idx[p] = k} ∂C/∂y[p]; the indices get no gradient. The row
    ``padding_idx`` (if given) receives none either, as in torch: it stays a fixed vector.
    """

    @staticmethod
    def forward(ctx: Context, indices: np.ndarray, weight: np.ndarray, padding_idx: int | None = None) -> np.ndarray:
        indices = np.asarray(indices)
        if weight.ndim != 2:
            raise ValueError(f"embedding: weight must be (num_embeddings, embedding_dim), got shape {weight.shape}")
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            bad = indices.min() if indices.min() < 0 else indices.max()
            raise IndexError(f"embedding: index {int(bad)} is out of range for {weight.shape[0]} embeddings")
        ctx.indices, ctx.num_embeddings, ctx.padding_idx = indices, weight.shape[0], padding_idx
        return weight[indices]

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        dweight = np.zeros((ctx.num_embeddings, grad.shape[-1]), grad.dtype)
        np.add.at(dweight, ctx.indices.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        if ctx.padding_idx is not None:
            dweight[ctx.padding_idx] = 0
        return None, dweight
