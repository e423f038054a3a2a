"""Inverted dropout: zero each value with probability p and scale the survivors by 1/(1 − p),
so the expected output equals the input and evaluation needs no rescaling."""

from __future__ import annotations

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.random import generator


class Dropout(ArrayFunction):
    """y = x ⊙ m/(1 − p), m_i ~ Bernoulli(1 − p) drawn once per forward.

    ∂y_i/∂x_i = m_i/(1 − p): the gradient flows only through the units that were kept, scaled
    the same way. p = 1 zeroes everything (and the gradient).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, p: float = 0.5) -> np.ndarray:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
        if p == 1.0:
            scale = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = generator().random(x.shape, dtype=np.float32) >= p
            scale = keep.astype(x.dtype)
            scale *= np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
        ctx.scale = scale
        return x * scale

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out * ctx.scale,)


class Dropout2d(ArrayFunction):
    """Channel dropout: y[n, c] = x[n, c]·m[n, c]/(1 − p), one m[n, c] ~ Bernoulli(1 − p) per
    channel of each sample, shared by all its positions (torch's dropout2d; neighbouring pixels
    are correlated, so dropping single pixels would barely regularise a conv net).

    The mask has shape (N, C, 1, …): x's first two dims, 1 elsewhere (a 3-D input is (N, C, L),
    as torch reads it). ∂y/∂x[n, c, …] = m[n, c]/(1 − p): the gradient of a dropped channel is 0.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, p: float = 0.5) -> np.ndarray:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
        if x.ndim < 2:
            raise ValueError(f"dropout2d: expected input (N, C, H, W) or (N, C, L), got shape {x.shape}")
        mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
        if p == 1.0:
            scale = np.zeros(mask_shape, dtype=x.dtype)
        else:
            scale = (generator().random(mask_shape, dtype=np.float32) >= p).astype(x.dtype)
            scale *= np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
        ctx.scale = scale
        return x * scale

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out * ctx.scale,)
