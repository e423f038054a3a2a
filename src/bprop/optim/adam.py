"""Adam: per-parameter step sizes from running moments of the gradient (Kingma & Ba, 2015)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.tensor import Tensor


class Adam(Optimizer):
    """Adam, with optional AMSGrad — torch's rule exactly.

    Hyper-parameters: learning rate γ (``lr``), β₁, β₂ (``betas``), ε (``eps``), weight decay λ.
    For each parameter θ, with m₀ = v₀ = v̂₀ = 0, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                      (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}          (coupled L2; AdamW instead decays θ itself)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t            (computed as m + (1 − β₁)(g − m), torch's lerp)
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        v̂_t ← max(v̂_{t−1}, v_t) if amsgrad, else v̂_t ← v_t
        θ_t ← θ_{t−1} − γ/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    (1 − β₁ᵗ) and (1 − β₂ᵗ) undo the bias of the moments towards their zero start; note that ε
    is added after the second correction, as torch does. State per parameter: ``step`` (t),
    ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq`` (v̂).
    ``decoupled_weight_decay=True`` gives AdamW's rule (see ``AdamW``).

    Example:
        >>> opt = Adam(model.parameters(), lr=1e-3)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                decoupled_weight_decay=decoupled_weight_decay,
            ),
        )

    def update_moments(
        self, state: dict[str, Any], g: np.ndarray, beta1: float, beta2: float, tmp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """m ← β₁m + (1 − β₁)g and v ← β₂v + (1 − β₂)g² in place (``tmp`` is scratch); returns (m, v)."""
        m, v = state["exp_avg"], state["exp_avg_sq"]
        self.lerp_(m, g, 1 - beta1, tmp)
        v *= beta2
        np.multiply(g, 1 - beta2, out=tmp)
        tmp *= g
        v += tmp
        return m, v

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr", "eps")
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_non_negative(group, "weight_decay")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p._data), exp_avg_sq=np.zeros_like(p._data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        decoupled = group["decoupled_weight_decay"]
        if wd and decoupled:
            p._data *= 1 - lr * wd
        g = self.direction(p, group["maximize"], 0.0 if decoupled else wd)
        tmp = self.workspace(p, 1)
        exp_avg, v = self.update_moments(state, g, beta1, beta2, tmp)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v, out=tmp)
        denom /= (1 - beta2**t) ** 0.5
        denom += group["eps"]
        np.divide(exp_avg, denom, out=tmp)
        tmp *= step_size
        p._data -= tmp
