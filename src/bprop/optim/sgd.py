"""Stochastic gradient descent, the notes' θ := θ − η∇C, with torch's momentum variants."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.tensor import Tensor


class SGD(Optimizer):
    """For each parameter θ with gradient g (exactly torch's rule):

        g ← −g                       if maximize
        g ← g + λθ                   weight decay λ (the gradient of ½λ‖θ‖²)
        b ← g                        on the first step with momentum μ
        b ← μb + (1 − τ)g            afterwards (τ = dampening)
        g ← g + μb if nesterov else b
        θ ← θ − ηg
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        for name, value in (("learning rate", lr), ("momentum value", momentum),
                            ("weight_decay value", weight_decay)):
            check_non_negative(name, value)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        momentum, wd = group["momentum"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if wd:
            g = g + wd * p.data
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g
