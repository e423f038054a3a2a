"""Linear: the notes' fully connected layer z = W·a + b, batched as y = x Wᵀ + b."""

from __future__ import annotations

import math

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor


class Linear(Module):
    """y = x Wᵀ + b with weight (out_features, in_features) and bias (out_features,), like torch.

    Default init is torch's: W ~ U(±1/√in) (kaiming_uniform with a = √5), b ~ U(±1/√in).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: object = np.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self.name()}: expected input with {self.in_features} features in the "
                f"last dim, got shape {tuple(x.shape)}"
            )
        return F.linear(x, self.weight, self.bias)

    def name(self) -> str:
        return f"Linear({self.in_features}→{self.out_features})"

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
