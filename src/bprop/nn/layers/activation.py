"""Activation layers: stateless wrappers over the ops in bprop.ops.activation (the derivatives live there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bprop.nn import functional as F
from bprop.nn.layers.flatten import Identity
from bprop.nn.module import Module
from bprop.tensor import Tensor


class ReLU(Module):
    """max(0, x).

    ``inplace`` is accepted so that code written for torch runs unchanged; the result is the
    same, but bprop always computes out of place (its autograd allows in-place changes only
    under no_grad), so the input keeps its values.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise. ``inplace``: as for ReLU (accepted, out of place)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1/(1 + e^(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class GELU(Module):
    """x·Φ(x) (approximate='none'), or its tanh approximation (approximate='tanh')."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """e^(x_i) / Σ_j e^(x_j) along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i − log Σ_j e^(x_j) along ``dim`` (its own class, so isinstance(m, Softmax) stays exact)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@dataclass(frozen=True)
class Activation:
    """One row of the activation table: the layer and the function of the same σ."""

    layer: type[Module]
    function: Callable[[Tensor], Tensor]


def _identity(x: Tensor) -> Tensor:
    return x


# The one table of activations by name, used wherever a name picks one (models built from options,
# the transformer's feed-forward block, bprop.sklearn, explain); each σ′ lives in ops/activation.py.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(ReLU, F.relu),
    "leaky_relu": Activation(LeakyReLU, F.leaky_relu),
    "sigmoid": Activation(Sigmoid, F.sigmoid),
    "tanh": Activation(Tanh, F.tanh),
    "gelu": Activation(GELU, F.gelu),
    "identity": Activation(Identity, _identity),
}


def activation_entry(name: str, owner: str = "activation", allowed: tuple[str, ...] | None = None) -> Activation:
    """ACTIVATIONS[name], or a ValueError naming ``owner`` and the names it takes (``allowed``,
    a subset of the table, where a caller supports only some)."""
    names = tuple(ACTIVATIONS) if allowed is None else allowed
    if name not in names:
        raise ValueError(f"{owner}: activation must be one of {', '.join(map(repr, names))}, got {name!r}")
    return ACTIVATIONS[name]
