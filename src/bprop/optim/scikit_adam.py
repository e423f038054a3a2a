"""Adam in the form scikit-learn's MLPs use; bprop.sklearn's estimators train with it.

Not exported from bprop.optim, whose Adam keeps torch's rule: this one exists so that
bprop.sklearn's estimators take scikit-learn's steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.optim.adam import Adam
from bprop.tensor import Tensor


class ScikitLearnAdam(Adam):
    """Adam as scikit-learn's MLPs run it: Kingma & Ba's "efficient" form, with ε added to √v
    before the bias correction rather than after (torch's rule, bprop.optim.Adam)::

        g ← g + λθ   (λ = weight_decay: scikit-learn's L2 gradient alpha/batch · W)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²,   θ ← θ − γ·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε)

    which is torch's update with ε/√(1 − β₂ᵗ) in place of ε: 32× larger at the first step, →ε
    later. The difference is not cosmetic: a weight whose gradient is below ~ε/√(1 − β₂ᵗ) (the
    weight of a pixel that is almost always 0) takes a full ±γ step under torch's rule and a
    damped one under scikit-learn's. amsgrad, maximize and decoupled weight decay are torch's
    options and are refused here.
    """

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        super().check_hyper_parameters(group)
        for option in ("amsgrad", "maximize", "decoupled_weight_decay"):
            if group.get(option):
                raise ValueError(f"ScikitLearnAdam: {option}=True is a torch option; use bprop.optim.Adam")

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p._data), exp_avg_sq=np.zeros_like(p._data))
        state["step"] += 1
        (beta1, beta2), decay, t = group["betas"], group["weight_decay"], state["step"]
        step_size = group["lr"] * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        g, tmp = self.direction(p, False, decay), self.workspace(p, 1)  # g + λθ
        m, v = self.update_moments(state, g, beta1, beta2, tmp)
        np.sqrt(v, out=tmp)
        tmp += group["eps"]
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p._data -= tmp
