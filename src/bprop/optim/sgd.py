"""Stochastic gradient descent, the notes' θ ← θ − η∇C, with torch's momentum variants."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from bprop.optim.optimizer import Optimizer, check_non_negative
from bprop.runtime import blas
from bprop.tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum — torch's rule exactly.

    Hyper-parameters: learning rate γ (``lr``), momentum μ, dampening τ, weight decay λ.
    For each parameter θ, at step t = 1, 2, …::

        g_t ← ∇_θ f(θ_{t−1})                       (g_t ← −∇_θ f(θ_{t−1}) if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}           (the gradient of ½λ‖θ‖², "L2")
        if μ ≠ 0:
            b_t ← g_t                              if t = 1 (no dampening on the first step)
            b_t ← μ b_{t−1} + (1 − τ) g_t          otherwise
            g_t ← g_t + μ b_t if nesterov, else g_t ← b_t
        θ_t ← θ_{t−1} − γ g_t

    State per parameter: ``momentum_buffer`` (b, only when μ ≠ 0).

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        momentum, dampening, lr = group["momentum"], group["dampening"], group["lr"]
        g = self.direction(p, group["maximize"], group["weight_decay"])
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p._data.dtype, copy=True)
            elif not blas.axpby(1 - dampening, g, momentum, buf):  # b ← μb + (1 − τ)g, one pass
                buf *= momentum
                buf += g if not dampening else np.multiply(g, 1 - dampening, out=self.workspace(p, 1))
            if group["nesterov"]:
                step = np.multiply(buf, momentum, out=self.workspace(p, 1))
                step += g
                g = step
            else:
                g = buf
        if not blas.axpby(-lr, g, 1.0, p._data):  # θ ← θ − γg, one pass
            p._data -= np.multiply(g, lr, out=self.workspace(p, 1))
