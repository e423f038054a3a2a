"""Inverted dropout: zero each value with probability p and scale the survivors by 1/(1 − p),
so the expected output equals the input and evaluation needs no rescaling."""

from __future__ import annotations

import numpy as np

from bprop.autograd import Context, Function
from bprop.random import generator


class Dropout(Function):
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
