"""Dropout layers: inverted dropout in training (of single values, or of whole channels), the
identity in eval mode."""

from __future__ import annotations

from bprop.nn import functional as F
from bprop.nn.module import Module
from bprop.tensor import Tensor


class Dropout(Module):
    """Zero each value with probability p while training and scale the rest by 1/(1 − p).

    ``inplace`` is accepted so that code written for torch runs unchanged; bprop computes out
    of place (see nn.ReLU), with the same result.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) input with probability p while training, scaling the
    rest by 1/(1 − p) (see ops.dropout.Dropout2d); the identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)
