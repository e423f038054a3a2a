"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

from __future__ import annotations

from typing import Any, Iterable

from bprop.optim.adam import Adam


class AdamW(Adam):
    """Adam whose weight decay shrinks θ directly instead of entering the moments — torch's rule.

    Hyper-parameters: learning rate γ (``lr``), β₁, β₂ (``betas``), ε (``eps``), weight decay λ
    (default 0.01). For each parameter θ, with m₀ = v₀ = v̂₀ = 0, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                      (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        θ_{t−1} ← θ_{t−1} − γλ θ_{t−1}             (decoupled decay, before the Adam step)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        v̂_t ← max(v̂_{t−1}, v_t) if amsgrad, else v̂_t ← v_t
        θ_t ← θ_{t−1} − γ/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    With Adam's coupled L2 the decay λθ is divided by √v̂ like the gradient, so weights with
    large gradients are barely regularised; here every weight shrinks by the same factor
    (1 − γλ). State per parameter as in Adam: ``step``, ``exp_avg``, ``exp_avg_sq``,
    ``max_exp_avg_sq`` (amsgrad).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)
