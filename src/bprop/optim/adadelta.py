"""Adadelta: step sizes from running averages of squared gradients and squared updates (Zeiler, 2012)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.tensor import Tensor


class Adadelta(Optimizer):
    """Adadelta — torch's rule exactly.

    Hyper-parameters: learning rate γ (``lr``, 1 in the paper), decay ρ (``rho``), ε (``eps``),
    weight decay λ. For each parameter θ, with v₀ = u₀ = 0, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                      (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        v_t ← ρ v_{t−1} + (1 − ρ) g_t²             (running mean of squared gradients)
        Δx_t ← √(u_{t−1} + ε) / √(v_t + ε) · g_t
        u_t ← ρ u_{t−1} + (1 − ρ) Δx_t²            (running mean of squared updates)
        θ_t ← θ_{t−1} − γ Δx_t

    The ratio of the two root-mean-squares gives each coordinate a step in the units of θ
    itself, so the method needs no learning rate to be tuned. State per parameter: ``step``,
    ``square_avg`` (v) and ``acc_delta`` (u).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
    ):
        del foreach, capturable  # torch's choices of kernel and of CUDA graphs; NumPy has neither
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        check_non_negative(group, "eps", "weight_decay")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta, rho, eps = np.asarray(p), group["rho"], group["eps"]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(theta), acc_delta=np.zeros_like(theta))
        state["step"] += 1
        g = self.direction(p, group["maximize"], group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        delta, std = self.workspace(p, 1), np.empty_like(theta)
        square_avg *= rho
        np.multiply(g, g, out=delta)
        delta *= 1 - rho
        square_avg += delta
        np.add(square_avg, eps, out=std)
        np.sqrt(std, out=std)
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        acc_delta *= rho
        np.multiply(delta, delta, out=std)
        std *= 1 - rho
        acc_delta += std
        delta *= group["lr"]
        theta -= delta
