"""Build a model by name from plain options: the one place that turns ``--model convnet`` (or
``RunConfig(model="convnet")``) into a module of ``nn.models``.

A builder is a function ``(input_shape, num_classes, options) -> Module``; ``options`` is a
``ModelOptions``. It raises ValueError, naming the model and what it needs, when the data does
not suit it (a conv net on vectors, LeNet-5 on 8×8 images). Every model it returns has
``regularization()``, the L2 term ½·reg·ΣW² over its weights (not biases, γ or β), which the fit
loop adds to the loss.

To add a model: write its builder below and register it with ``register_model(name, builder,
description)``; ``bprop train --model NAME`` and ``RunConfig(model=NAME)`` then accept it. A new
option the builder needs goes into ``ModelOptions`` and into ``bprop.train.RunConfig`` (see there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from bprop.nn.layers import Flatten, Linear
from bprop.nn.models import FullyConnectedNet, LeNet5, ThreeLayerConvNet, l2_penalty, mlp_layers
from bprop.nn.module import Module, Sequential
from bprop.nn.sequence_models import CharLSTM, CharTransformer, SequenceClassifier
from bprop.tensor import Tensor


@dataclass(frozen=True)
class ModelOptions:
    """The architecture options a builder may use (each builder says which)."""

    hidden: tuple[int, ...] = (256, 256)
    normalization: str | None = "batchnorm"  # "batchnorm", "layernorm" or None
    dropout: float = 0.0
    weight_scale: float = 0.05
    reg: float = 0.0
    dtype: object = np.float32


Builder = Callable[[tuple[int, ...], int, ModelOptions], Module]
MODELS: dict[str, tuple[Builder, str]] = {}
MODEL_DEFAULTS: dict[str, dict] = {}  # per-model option defaults, before the data set's
ARCHITECTURE_OPTIONS = ("hidden", "normalization", "dropout", "weight_scale")  # ModelOptions' fields a model may ignore
MODEL_USES: dict[str, frozenset[str] | None] = {}  # the ARCHITECTURE_OPTIONS each model reads; None: not said
LANGUAGE_MODELS = ("char-lstm", "char-transformer")  # a label per position (text:PATH); the others one per sample


def register_model(
    name: str, builder: Builder, description: str, defaults: dict | None = None, uses: Sequence[str] | None = None
) -> None:
    """Make ``name`` a value of ``--model`` and ``RunConfig.model``. ``defaults`` (e.g. a
    recurrent net's hidden size) take precedence over the data set's for options not given.
    ``uses`` names the ARCHITECTURE_OPTIONS the builder reads, so that `bprop train` can refuse
    the others instead of ignoring them (None: not said, nothing is refused)."""
    MODELS[name] = (builder, description)
    MODEL_DEFAULTS[name] = dict(defaults or {})
    MODEL_USES[name] = None if uses is None else frozenset(uses)


def build_model(name: str, input_shape: Sequence[int], num_classes: int, options: ModelOptions) -> Module:
    """The model ``name`` for inputs of ``input_shape`` (one sample) and ``num_classes`` classes."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name][0](tuple(int(d) for d in input_shape), int(num_classes), options)


class MLP(Sequential):
    """Flatten − {affine − [batch/layer norm] − relu − [dropout]} × L − affine, with torch's
    default init (where FullyConnectedNet uses cs231n's N(0, weight_scale²))."""

    def __init__(self, features: int, hidden: Sequence[int], num_classes: int, options: ModelOptions):
        sizes = [features, *hidden, num_classes]
        layers = mlp_layers(sizes, "relu", options.normalization, options.dropout, dtype=options.dtype, owner="mlp")
        super().__init__(Flatten(), *layers)
        self.reg = options.reg

    def regularization(self) -> Tensor:
        return l2_penalty([m.weight for m in self if isinstance(m, Linear)], self.reg)


class RegularizedLeNet5(LeNet5):
    """LeNet5 with the L2 term over its five weight tensors (the keys are LeNet5's)."""

    def __init__(
        self, in_channels: int, num_classes: int, input_size: int, reg: float, dtype: object, classic: bool = False
    ):
        super().__init__(in_channels, num_classes, input_size, dtype=dtype, classic=classic)
        self.reg = reg

    def regularization(self) -> Tensor:
        layers = [*self.features, *self.classifier]
        return l2_penalty([m.weight for m in layers if hasattr(m, "weight") and m.weight is not None], self.reg)


def _features(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def _images(name: str, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"model {name!r} needs images (channels, height, width), but the inputs have shape {shape}")
    return shape  # type: ignore[return-value]


def _fcnet(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
    return FullyConnectedNet(
        _features(shape), o.hidden, classes, o.normalization, o.dropout, o.weight_scale, o.reg, o.dtype
    )


def _mlp(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
    return MLP(_features(shape), o.hidden, classes, o)


def _convnet(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
    _, height, width = _images("convnet", shape)
    if min(height, width) < 2:
        raise ValueError(f"model 'convnet' pools 2×2: it needs images of at least 2×2, not {height}×{width}")
    return ThreeLayerConvNet(shape, 32, 5, o.hidden[0], classes, o.weight_scale, o.reg, o.dtype)


def _lenet5(classic: bool) -> Builder:
    name = "lenet5-classic" if classic else "lenet5"

    def build(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
        channels, height, width = _images(name, shape)
        if (height, width) not in ((28, 28), (32, 32)):
            raise ValueError(f"model {name!r} takes 28×28 or 32×32 images, not {height}×{width}")
        return RegularizedLeNet5(channels, classes, height, o.reg, o.dtype, classic)

    return build


register_model(
    "fcnet", _fcnet, "the notes' fully connected net (cs231n init); uses hidden, normalization, dropout",
    uses=ARCHITECTURE_OPTIONS,
)  # fmt: skip
register_model(
    "mlp", _mlp, "a fully connected net with torch's init; uses hidden, normalization, dropout",
    uses=("hidden", "normalization", "dropout"),
)  # fmt: skip
register_model(
    "convnet", _convnet, "cs231n's conv − relu − pool − affine − relu − affine; uses hidden[0]",
    uses=("hidden", "weight_scale"),
)  # fmt: skip
register_model(
    "lenet5", _lenet5(False), "LeNet-5 as trained today (ReLU, max pooling) for 28×28 or 32×32 images", uses=()
)
register_model(
    "lenet5-classic", _lenet5(True), "LeNet-5 as in 1998 (tanh, average pooling); same parameters as lenet5",
    uses=(),
)  # fmt: skip


def _sequence_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) < 2:
        raise ValueError(f"model {name!r} reads each sample as steps of features; the inputs have shape {shape}")
    return shape


def _recurrent(mode: str) -> Builder:
    def build(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
        features = _sequence_shape(mode, shape)[-1]
        return SequenceClassifier(mode, features, o.hidden, classes, o.dropout, o.reg, o.dtype)

    return build


def _token_ids(name: str, shape: tuple[int, ...]) -> int:
    if len(shape) != 1:
        raise ValueError(
            f"model {name!r} reads windows of token ids (use --data text:PATH), not inputs of shape {shape}"
        )
    return shape[0]


def _char_lstm(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
    _token_ids("char-lstm", shape)
    return CharLSTM(classes, o.hidden, o.dropout, o.reg, o.dtype)


def _char_transformer(shape: tuple[int, ...], classes: int, o: ModelOptions) -> Module:
    return CharTransformer(classes, _token_ids("char-transformer", shape), o.hidden, o.dropout, o.reg, o.dtype)


_RECURRENT_DEFAULTS = {"hidden": (128,), "dropout": 0.0}
for _mode in ("rnn", "lstm", "gru"):
    register_model(
        _mode,
        _recurrent(_mode),
        f"a {_mode.upper()} reading each sample as steps of its last axis (an image row by row), then affine "
        "on the last step; len(hidden) layers of hidden[0] units",
        _RECURRENT_DEFAULTS,
        uses=("hidden", "dropout"),
    )
register_model(
    "char-lstm",
    _char_lstm,
    "character-level LSTM language model (text:PATH); len(hidden) layers of hidden[0] units",
    {"hidden": (256,), "dropout": 0.0},
    uses=("hidden", "dropout"),
)
register_model(
    "char-transformer",
    _char_transformer,
    "character-level causal transformer (text:PATH); len(hidden) pre-norm layers of width hidden[0]",
    {"hidden": (128, 128), "dropout": 0.1, "lr": 1e-3},
    uses=("hidden", "dropout"),
)
