"""Ready-made models from the study notes and cs231n.

FullyConnectedNet is the notes' network {affine − [batch norm] − relu − [dropout]} × (L−1) −
affine, returning class scores; pair it with CrossEntropyLoss (softmax is fused there) and add
``model.regularization()`` to the loss for L2.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bprop.nn import init
from bprop.nn.layers import BatchNorm1d, Dropout, Linear, ReLU
from bprop.nn.module import Module, Sequential
from bprop.tensor import Tensor


def l2_penalty(weights: Sequence[Tensor], reg: float) -> Tensor:
    """½·reg·Σ‖W‖² over the given weight matrices, a Tensor so that its gradient reg·W flows.

    The square matters: a study note writes the L2 term as ½·reg·ΣW without it, which is
    not a norm (and has gradient ½·reg, pushing every weight down by the same amount); we
    follow the mathematics of weight decay.
    """
    total: Tensor | None = None
    for w in weights:
        term = (w * w).sum()
        total = term if total is None else total + term
    if total is None:
        return Tensor(np.zeros((), dtype=np.float32))
    return total * (0.5 * reg)


class FullyConnectedNet(Module):
    """{affine − [batch norm] − relu − [dropout]} × (L−1) − affine, for L = len(hidden_dims) + 1.

    Weights are drawn from N(0, weight_scale²), biases and β start at 0, γ at 1 (cs231n's
    init). ``reg`` is the L2 strength used by ``regularization()`` (weights only: not biases,
    not γ or β). The layers form one Sequential, so state_dict keys match the equivalent
    torch ``nn.Sequential`` ("layers.0.weight", …).
    """

    def __init__(self, input_dim: int, hidden_dims: Sequence[int], num_classes: int,
                 normalization: str | None = None, dropout: float = 0.0, weight_scale: float = 1e-2,
                 reg: float = 0.0, dtype: object = np.float32):
        super().__init__()
        if normalization not in (None, "batchnorm"):
            raise ValueError(f"FullyConnectedNet: normalization must be None or 'batchnorm', got {normalization!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"FullyConnectedNet: dropout must be in [0, 1), got {dropout}")
        self.reg = reg
        dims = [input_dim, *hidden_dims, num_classes]
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            affine = Linear(fan_in, fan_out, dtype=dtype)
            init.normal_(affine.weight, 0.0, weight_scale)
            init.zeros_(affine.bias)
            layers.append(affine)
            if i == len(dims) - 2:
                break
            if normalization == "batchnorm":
                layers.append(BatchNorm1d(fan_out, dtype=dtype))
            layers.append(ReLU())
            if dropout > 0:
                layers.append(Dropout(dropout))
        self.layers = Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.flatten(1) if x.ndim > 2 else x)

    def weights(self) -> list[Tensor]:
        return [m.weight for m in self.layers if isinstance(m, Linear)]

    def regularization(self) -> Tensor:
        """½·reg·Σ_l ‖W^l‖²: add it to the data loss; its gradient is reg·W^l."""
        return l2_penalty(self.weights(), self.reg)
