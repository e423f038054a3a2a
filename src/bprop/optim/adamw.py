"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter)."""

from __future__ import annotations

from typing import Any, Iterable

from bprop.optim.adam import Adam


class AdamW(Adam):
    """Adam's update, but weight decay shrinks θ directly instead of entering the gradient:

        θ ← θ(1 − ηλ)   then the Adam step with g (no λθ term)   (exactly torch's rule)
    """

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
