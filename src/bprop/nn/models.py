"""Ready-made models from the study notes and cs231n.

FullyConnectedNet is the notes' network {affine − [batch/layer norm] − relu − [dropout]} × (L−1) −
affine, returning class scores; pair it with CrossEntropyLoss (softmax is fused there) and add
``model.regularization()`` to the loss for L2.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from bprop.nn import init
from bprop.nn.layers import (
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Dropout,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    ReLU,
    Tanh,
)
from bprop.nn.layers.activation import activation_entry
from bprop.nn.module import Module, Sequential
from bprop.tensor import Tensor


def l2_penalty(weights: Sequence[Tensor], reg: float) -> Tensor:
    """½·reg·Σ‖W‖² over the given weight matrices, a Tensor so that its gradient reg·W flows.

    The square matters: a study note writes the L2 term as ½·reg·ΣW without it, which is
    not a norm (and has gradient ½·reg, pushing every weight down by the same amount); we
    follow the mathematics of weight decay.
    """
    weights = list(weights)
    if reg == 0 or not weights:  # a constant: no graph, so training without L2 pays nothing for it
        return Tensor(np.zeros((), dtype=weights[0].dtype if weights else np.float32))
    total = (weights[0] * weights[0]).sum()
    for w in weights[1:]:
        total = total + (w * w).sum()
    return total * (0.5 * reg)


NORMALIZATIONS = (None, "batchnorm", "layernorm")


def mlp_layers(
    sizes: Sequence[int],
    activation: str = "relu",
    normalization: str | None = None,
    dropout: float = 0.0,
    activate_last: bool = False,
    dtype: object = np.float32,
    owner: str = "mlp_layers",
    init_linear: Callable[[Linear], None] | None = None,
) -> list[Module]:
    """The one MLP builder: the layers of {Linear − [batch/layer norm] − σ − [dropout]} between
    consecutive ``sizes``, the last Linear bare (a score layer) unless ``activate_last``. σ is
    ``activation``'s layer in the activation table (nn.layers.activation.ACTIVATIONS).

    FullyConnectedNet, the builder's "mlp", bprop.sklearn's estimators and explain's networks
    are all these layers with their own init (``init_linear``, applied to each Linear as it is
    made, so a seeded model draws its numbers in layer order); the order fixes their state_dict
    keys.
    """
    sigma = activation_entry(activation, owner).layer
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"{owner}: normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{owner}: dropout must be in [0, 1), got {dropout}")
    layers: list[Module] = []
    pairs = list(itertools.pairwise(sizes))
    for i, (fan_in, fan_out) in enumerate(pairs):
        layers.append(Linear(fan_in, fan_out, dtype=dtype))
        if init_linear is not None:
            init_linear(layers[-1])
        if i == len(pairs) - 1 and not activate_last:
            break
        if normalization == "batchnorm":
            layers.append(BatchNorm1d(fan_out, dtype=dtype))
        elif normalization == "layernorm":
            layers.append(LayerNorm(fan_out, dtype=dtype))
        layers.append(sigma())
        if dropout > 0:
            layers.append(Dropout(dropout))
    return layers


class FullyConnectedNet(Sequential):
    """{affine − [batch/layer norm] − relu − [dropout]} × (L−1) − affine, for L = len(hidden_dims) + 1.

    ``normalization`` is None, "batchnorm" (BatchNorm1d: batch statistics, running averages for
    eval) or "layernorm" (LayerNorm over each sample's features: the same in train and eval).

    Weights are drawn from N(0, weight_scale²), biases and β start at 0, γ at 1 (cs231n's
    init). ``reg`` is the L2 strength used by ``regularization()`` (weights only: not biases,
    not γ or β). The net is a Sequential of Linear, BatchNorm1d, ReLU and Dropout layers, so
    its state_dict keys ("0.weight", "1.running_mean", …) are those of the same torch
    ``nn.Sequential`` and weights move between the two unchanged. Inputs with more than two
    dims (images) are flattened to (N, features) first.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: Sequence[int],
        num_classes: int,
        normalization: str | None = None,
        dropout: float = 0.0,
        weight_scale: float = 1e-2,
        reg: float = 0.0,
        dtype: object = np.float32,
    ):
        dims = [input_dim, *hidden_dims, num_classes]

        def cs231n_init(affine: Linear) -> None:
            init.normal_(affine.weight, 0.0, weight_scale)
            init.zeros_(affine.bias)

        layers = mlp_layers(
            dims, "relu", normalization, dropout, dtype=dtype, owner="FullyConnectedNet", init_linear=cs231n_init
        )
        super().__init__(*layers)
        self.reg = reg

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.flatten(1) if x.ndim > 2 else x)

    def weights(self) -> list[Tensor]:
        return [m.weight for m in self if isinstance(m, Linear)]

    def regularization(self) -> Tensor:
        """½·reg·Σ_l ‖W^l‖²: add it to the data loss; its gradient is reg·W^l."""
        return l2_penalty(self.weights(), self.reg)


class ThreeLayerConvNet(Module):
    """cs231n's three-layer net: conv − relu − 2×2 max pool − affine − relu − affine.

    The conv keeps the spatial size (padding (F − 1)/2, stride 1), so the affine layer sees
    num_filters·(H/2)·(W/2) features. Weights ~ N(0, weight_scale²), biases 0; ``reg`` is the
    L2 strength of ``regularization()`` (weights of all three layers, not biases).
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (3, 32, 32),
        num_filters: int = 32,
        filter_size: int = 7,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        dtype: object = np.float32,
    ):
        super().__init__()
        channels, height, width = input_dim
        if filter_size % 2 == 0:
            raise ValueError(f"ThreeLayerConvNet: filter_size must be odd to keep the size, got {filter_size}")
        self.reg = reg
        conv = Conv2d(channels, num_filters, filter_size, padding=(filter_size - 1) // 2, dtype=dtype)
        fc1 = Linear(num_filters * (height // 2) * (width // 2), hidden_dim, dtype=dtype)
        fc2 = Linear(hidden_dim, num_classes, dtype=dtype)
        for layer in (conv, fc1, fc2):
            init.normal_(layer.weight, 0.0, weight_scale)
            init.zeros_(layer.bias)
        self.features = Sequential(conv, ReLU(), MaxPool2d(2), Flatten())
        self.classifier = Sequential(fc1, ReLU(), fc2)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))

    def regularization(self) -> Tensor:
        return l2_penalty([self.features[0].weight, self.classifier[0].weight, self.classifier[2].weight], self.reg)


class LeNet5(Module):
    """LeCun et al. (1998), with ReLU and max pooling as usually trained today:
    conv5×5(6) − relu − pool2 − conv5×5(16) − relu − pool2 − fc120 − relu − fc84 − relu − fc10.
    ``classic=True`` gives the 1998 choices instead, tanh and average pooling (the paper's
    subsampling layers without their trainable scale, and its RBF output as a plain affine
    layer); the parameters, and so the state dict, are the same either way.

    The original takes 32×32 images (``input_size=32``, no padding). MNIST's 28×28 digits
    (``input_size=28``, the default) get padding 2 on the first conv, which restores the same
    32×32 frame: either way the second pool leaves 16×5×5 features and, for one input channel
    and ten classes, the classic 61,706 parameters. Layers use torch's default init, and the
    state dict keys (features.0.weight, …, classifier.4.bias) match the same torch module.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int = 28,
        dtype: object = np.float32,
        classic: bool = False,
    ):
        super().__init__()
        activation, pool = (Tanh, AvgPool2d) if classic else (ReLU, MaxPool2d)
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 (padded by 2) or 32, got {input_size}")
        self.input_size = input_size
        self.features = Sequential(
            Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2, dtype=dtype),
            activation(),
            pool(2),
            Conv2d(6, 16, 5, dtype=dtype),
            activation(),
            pool(2),
            Flatten(),
        )
        self.classifier = Sequential(
            Linear(16 * 5 * 5, 120, dtype=dtype),
            activation(),
            Linear(120, 84, dtype=dtype),
            activation(),
            Linear(84, num_classes, dtype=dtype),
        )

    def forward(self, x: Tensor) -> Tensor:
        size = (self.input_size, self.input_size)
        if x.ndim != 4 or x.shape[2:] != size:
            raise ValueError(
                f"LeNet5(input_size={self.input_size}): expected input (N, C, {size[0]}, {size[1]}), "
                f"got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))
