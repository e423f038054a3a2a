"""Adagrad: per-parameter step sizes shrinking with the sum of past squared gradients (Duchi et al., 2011)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad — torch's rule exactly.

    Hyper-parameters: learning rate γ (``lr``), learning-rate decay η, weight decay λ, initial
    accumulator value s₀, ε (``eps``). For each parameter θ, with s = s₀, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                      (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        γ̃ ← γ / (1 + (t − 1) η)
        s_t ← s_{t−1} + g_t²
        θ_t ← θ_{t−1} − γ̃ · g_t / (√s_t + ε)

    A coordinate that has seen large gradients takes small steps from then on, one that has
    seen small ones keeps large steps; s only grows, so every step size decays. State per
    parameter: ``step`` (t) and ``sum`` (s).

    Example:
        >>> opt = Adagrad(model.parameters(), lr=0.01)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
    ):
        del foreach  # torch's choice of kernel; NumPy has one
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
        )

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = np.asarray(p)
        if not state:
            state.update(step=0, sum=np.full_like(theta, group["initial_accumulator_value"]))
        state["step"] += 1
        g = self.direction(p, group["maximize"], group["weight_decay"])
        tmp = self.workspace(p, 1)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        accumulated = state["sum"]
        np.multiply(g, g, out=tmp)
        accumulated += tmp
        np.sqrt(accumulated, out=tmp)
        tmp += group["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= clr
        theta -= tmp
