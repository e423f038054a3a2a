"""RMSprop: divide the gradient by a running root-mean-square of its recent values (Hinton, 2012)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop, optionally centred and with momentum — torch's rule exactly.

    Hyper-parameters: learning rate γ (``lr``), smoothing α (``alpha``), ε (``eps``), weight
    decay λ, momentum μ. For each parameter θ, with s₀ = ḡ₀ = b₀ = 0, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                      (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        s_t ← α s_{t−1} + (1 − α) g_t²
        if centered:
            ḡ_t ← α ḡ_{t−1} + (1 − α) g_t          (computed as ḡ + (1 − α)(g − ḡ))
            d_t ← √(s_t − ḡ_t²) + ε                (a running standard deviation)
        else:
            d_t ← √s_t + ε
        if μ > 0:   b_t ← μ b_{t−1} + g_t / d_t;   θ_t ← θ_{t−1} − γ b_t
        else:       θ_t ← θ_{t−1} − γ g_t / d_t

    State per parameter: ``step``, ``square_avg`` (s), ``momentum_buffer`` (b, when μ > 0)
    and ``grad_avg`` (ḡ, when centered).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p._data))
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        g = self.direction(p, group["maximize"], group["weight_decay"])
        tmp = self.workspace(p, 1)
        square_avg = state["square_avg"]
        square_avg *= alpha
        np.multiply(g, 1 - alpha, out=tmp)
        tmp *= g
        square_avg += tmp
        if group["centered"]:
            grad_avg = state["grad_avg"]
            self.lerp_(grad_avg, g, 1 - alpha, tmp)
            np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, tmp, out=tmp)
            avg = np.sqrt(tmp, out=tmp)
        else:
            avg = np.sqrt(square_avg, out=tmp)
        avg += group["eps"]
        np.divide(g, avg, out=tmp)  # tmp = g / d
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += tmp
            np.multiply(buf, group["lr"], out=tmp)
        else:
            tmp *= group["lr"]
        p._data -= tmp
