"""``explain``: backpropagation through a network, layer by layer, every number shown.

For a chain of layers (an ``nn.Sequential``, nested ones, or a model such as LeNet5 whose
forward is its children in order) and a batch (x, y), it runs the forward pass, then the
backward pass one layer at a time. For each layer it shows its input and output, the δ = ∂C/∂y
arriving at its output and the layer's own backward formula applied to those numbers —
computed by the textbook functions of ``bprop.reference``, not by the ops autograd uses. Beside
every gradient it sets the value bprop's autograd finds (layer by layer: autograd of that
layer alone, fed autograd's δ) and finite differences (nudge one number by ±ε, run the rest
of the net, watch the loss; a sample of entries for large tensors), then takes one gradient
step θ := θ − η∇C and reports the new loss. Dropout masks are replayed from the random state,
so every forward pass sees the same mask. The model itself is left untouched: explain works
on a float64 copy.

The default is the classic 2-2-2 sigmoid network with squared error (inputs 0.05, 0.10;
targets 0.01, 0.99; its textbook weights).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import bprop.nn.functional as F
from bprop import nn
from bprop import reference as ref
from bprop.autograd import no_grad
from bprop.graph_check import is_kink
from bprop.nn.layers.activation import activation_entry
from bprop.random import get_rng_state, set_rng_state
from bprop.tensor import Tensor
from bprop.viz import explain_render
from bprop.viz.explain_layers import ACTIVATIONS as ACTIVATION_LAYERS
from bprop.viz.explain_layers import SUPPORTED, Check, LayerWork, derive, label

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")  # the table's activations explain derives
LOSSES = {"mse", "cross_entropy"}


def teaching_network() -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """The classic 2-2-2 sigmoid example: w1…w8 = 0.15…0.55, b1 = 0.35, b2 = 0.60."""
    model = build_network([2, 2, 2], "sigmoid")
    model[0].weight.data[...] = [[0.15, 0.20], [0.25, 0.30]]
    model[0].bias.data[...] = 0.35
    model[2].weight.data[...] = [[0.40, 0.45], [0.50, 0.55]]
    model[2].bias.data[...] = 0.60
    return model, np.array([0.05, 0.10]), np.array([0.01, 0.99])


def build_network(
    sizes: Sequence[int], activation: str, seed: int = 0, output_activation: bool = True
) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation (float64); without
    ``output_activation`` the last layer's z is the output (for a softmax cross-entropy, whose
    softmax is then the last layer's activation, as in note 000)."""
    activation_entry(activation, "explain", allowed=ACTIVATIONS)  # the ones explain writes σ′ for
    rng = np.random.default_rng(seed)

    def scaled_normal(linear: nn.Linear) -> None:
        fan_out, fan_in = linear.weight.shape
        linear.weight.data[...] = rng.normal(0, 1 / np.sqrt(fan_in), (fan_out, fan_in))
        linear.bias.data[...] = rng.normal(0, 0.1, fan_out)

    layers = nn.models.mlp_layers(
        sizes, activation, activate_last=output_activation, dtype=np.float64, init_linear=scaled_normal
    )
    return nn.Sequential(*layers)


@dataclass
class LayerStep:
    """One module: its input and output, ∂C/∂(its output) (``delta``; the notes' δ^l when the
    module is layer l's Linear or Conv2d, whose output is z^l), and the formula column (``work``).
    ``layer`` is the notes' l (each Linear or Conv2d starts a layer); ``role`` "z" for that
    module, "a" for the activation after it, "" for the others."""

    index: int
    label: str
    input: np.ndarray
    output: np.ndarray
    delta: np.ndarray
    work: LayerWork
    layer: int = 0
    role: str = ""


@dataclass
class Explanation:
    steps: list[LayerStep]
    x: np.ndarray
    targets: np.ndarray
    loss_name: str
    loss: float
    output_error: Check  # δ^L = ∂C/∂z^L, the notes' output error
    lr: float
    new_loss: float
    training: bool | None  # None: no layer behaves differently in training
    eps: float
    output_grad: np.ndarray | None = None  # ∂C/∂a^L, what the loss sends back into the net

    @property
    def depth(self) -> int:
        """L, the number of layers in the notes' sense."""
        return max((step.layer for step in self.steps), default=0)

    @property
    def checks(self) -> list[Check]:
        found = [self.output_error]
        for step in self.steps:
            found += [line.result for line in step.work.backward if line.result is not None]
        return found

    @property
    def max_discrepancy(self) -> float:
        """Largest disagreement among formula, autograd and finite differences over everything shown."""
        return max(check.discrepancy for check in self.checks)

    def gradient(self, layer: int, name: str = "weight") -> np.ndarray:
        """The formula's ∂C/∂(parameter ``name``) of layer number ``layer`` (1-based, as shown),
        or ∂C/∂(its input) for name "input"."""
        step = self.steps[layer - 1]
        return next(line.value for line in step.work.backward if line.check == name)

    def to_text(self, lang: str = "en") -> str:
        return explain_render.text(self, lang)

    def to_markdown(self, lang: str = "en") -> str:
        return explain_render.markdown(self, lang)

    def to_html(self, lang: str = "en", viewer: str | None = None) -> str:
        """The text as a page, with a drawing of the network when it is small and dense, and a
        link to the step-through viewer page ``viewer`` when given."""
        return explain_render.page(self, lang, viewer)

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import explanation_html

        return explanation_html(self)


# ----- the chain of layers ------------------------------------------------------------------
def chain_of(model: nn.Module) -> list[nn.Module]:
    """The leaf layers of ``model`` in the order its children are registered."""
    if not model._modules:
        return [model]
    return [leaf for child in model.children() for leaf in chain_of(child)]


def unexplainable_layers(model: nn.Module) -> list[str]:
    """The names of the layer types of ``model`` that explain has no derivation for, each once,
    in the order they first appear (empty when explain can show the whole model)."""
    return list(dict.fromkeys(type(m).__name__ for m in chain_of(model) if type(m) not in SUPPORTED))


def _checked_chain(model: nn.Module, x: np.ndarray) -> list[nn.Module]:
    layers = chain_of(model)
    unsupported = unexplainable_layers(model)
    if unsupported:
        names = ", ".join(sorted({t.__name__ for t in SUPPORTED}))
        raise ValueError(f"explain: cannot explain layer {unsupported[0]}; supported layers: {names}")
    if isinstance(layers[0], nn.Linear) and x.ndim > 2:
        layers = [nn.Flatten(), *layers]  # FullyConnectedNet flattens images before its first layer
    if not isinstance(model, nn.Sequential) or type(model).forward is not nn.Sequential.forward:
        state = get_rng_state()  # the model's own forward must be this chain (same dropout draws)
        with no_grad():
            whole = np.asarray(copy.deepcopy(model)(Tensor(x)))
            set_rng_state(state)
            h = Tensor(x)
            for layer in copy.deepcopy(nn.Sequential(*layers)):
                h = layer(h)
        set_rng_state(state)
        if whole.shape != h.shape or not np.allclose(whole, np.asarray(h), atol=1e-10):
            raise ValueError(f"explain: {type(model).__name__} is not a chain of layers in the order it registers them")
    return layers


def _targets(loss: str, y: Any, out_shape: tuple[int, ...]) -> tuple[np.ndarray, Any]:
    """(targets in the output's shape for the formula, what the autograd loss takes)."""
    y = np.asarray(y)
    n, k = out_shape[0], int(np.prod(out_shape[1:]))
    if loss == "cross_entropy":
        if len(out_shape) != 2:
            raise ValueError(f"explain: cross_entropy needs class scores (N, K) out of the net, got {out_shape}")
        if y.dtype.kind in "iu":
            labels = y.reshape(-1)
            if labels.shape != (n,) or labels.min() < 0 or labels.max() >= k:
                raise ValueError(f"explain: expected {n} class labels in 0…{k - 1}, got {y.tolist()}")
            return np.eye(k)[labels], labels
        y = y.astype(np.float64).reshape(n, -1) if y.size == n * k else y
    y = np.asarray(y, dtype=np.float64)
    if y.size != n * k:
        raise ValueError(f"explain: the network gives outputs of shape {out_shape}; got targets y of shape {y.shape}")
    y = y.reshape(out_shape)
    return y, y


# ----- the three columns --------------------------------------------------------------------
class _Run:
    """The forward pass, recorded: each layer's input and output, the random state before it
    (so that dropout can be replayed) and its mask."""

    def __init__(self, layers: list[nn.Module], x: np.ndarray):
        self.layers = layers
        self.leaves = [Tensor(x, requires_grad=True)]
        self.outputs: list[Tensor] = []
        self.states: list[dict] = []
        self.masks: list[np.ndarray | None] = []
        for layer in layers:
            self.states.append(get_rng_state())
            out = layer(self.leaves[-1])
            self.masks.append(self._mask(layer, x.dtype) if isinstance(layer, nn.Dropout) else None)
            self.outputs.append(out)
            self.leaves.append(Tensor(np.asarray(out).copy(), requires_grad=True))

    def _mask(self, layer: nn.Dropout, dtype: Any) -> np.ndarray | None:
        """The mask the last forward drew: the same layer on ones, from the same random state."""
        if not layer.training or layer.p in (0.0, 1.0):
            return None
        after = get_rng_state()
        set_rng_state(self.states[-1])
        with no_grad():
            scaled = np.asarray(layer(Tensor(np.ones(self.leaves[-1].shape, dtype=dtype))))
        set_rng_state(after)
        return (scaled != 0).astype(np.float64)

    def output_from(self, start: int, h: np.ndarray) -> np.ndarray:
        """Layers start… on h, each with the random state it had in the recorded pass."""
        after = get_rng_state()
        with no_grad():
            t = Tensor(h)
            for i in range(start, len(self.layers)):
                set_rng_state(self.states[i])
                t = self.layers[i](t)
        set_rng_state(after)
        return np.asarray(t)


def _autograd_loss(loss: str, out: Tensor, target: Any) -> Tensor:
    return F.cross_entropy(out, target) if loss == "cross_entropy" else F.mse_loss(out, Tensor(target))


def _entries(shape: tuple[int, ...], limit: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every index of a small tensor; ``limit`` random ones of a large one."""
    size = int(np.prod(shape))
    flat = range(size) if size <= limit else sorted(rng.choice(size, limit, replace=False))
    return [np.unravel_index(int(i), shape) for i in flat]


def explain(
    model: nn.Module | None = None,
    x: Any = None,
    y: Any = None,
    loss: str = "mse",
    lr: float = 0.5,
    eps: float = 1e-6,
    fd_entries: int = 12,
    seed: int = 0,
) -> Explanation:
    """Backprop through ``model`` (default: the 2-2-2 teaching network) for the batch (x, y).

    ``x`` is one sample or a batch (N, …); ``loss`` is "mse" (C = mean of (y_out − y)² over all
    entries; for two outputs and one sample the classic ½Σ(a − y)²) or "cross_entropy" (softmax
    fused, y class labels (N,) or target probabilities (N, K)). Finite differences are taken at
    every entry of tensors up to ``fd_entries`` values and at ``fd_entries`` random ones of
    larger tensors (``seed``). Layers run in the mode the model is in (training by default).
    """
    if loss not in LOSSES:
        raise ValueError(f"explain: loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if model is None:
        model, x0, y0 = teaching_network()
        x, y = (x0 if x is None else x), (y0 if y is None else y)
    if x is None or y is None:
        raise ValueError("explain: give both a batch x and its targets y")
    model = copy.deepcopy(model).to(np.float64)  # never touch the caller's weights or statistics
    x = np.asarray(x, dtype=np.float64)
    first = chain_of(model)[0]
    if (isinstance(first, nn.Linear) and x.ndim == 1) or (isinstance(first, nn.Conv2d) and x.ndim == 3):
        x = x[None]  # one sample
    layers = _checked_chain(model, x)
    try:
        run = _Run(layers, x)
    except ValueError as err:
        raise ValueError(f"explain: the batch x of shape {x.shape} does not fit the network: {err}") from None
    out = np.asarray(run.outputs[-1])
    targets, autograd_target = _targets(loss, y, out.shape)

    def loss_of(output: np.ndarray) -> float:
        return float(_autograd_loss(loss, Tensor(output), autograd_target).item())

    # formula: the loss's δ, then each layer's backward in turn
    one = np.array(1.0)  # ∂C/∂C
    if loss == "cross_entropy":
        value, (delta, _) = float(ref.cross_entropy(out, targets)), ref.cross_entropy_backward(one, out, targets)
    else:
        value, (delta, _) = float(ref.mse(out, targets)), ref.mse_backward(one, out, targets)
    works: list[LayerWork] = [None] * len(layers)  # type: ignore[list-item]
    deltas = [delta] * len(layers)
    for i in reversed(range(len(layers))):
        deltas[i] = delta
        works[i] = derive(layers[i], np.asarray(run.leaves[i]), np.asarray(run.outputs[i]), delta, run.masks[i])
        delta = works[i].grad_input

    # autograd, layer by layer: each layer's own graph, fed autograd's δ from above
    model.zero_grad()
    _autograd_loss(loss, run.leaves[-1], autograd_target).backward()
    for i in reversed(range(len(layers))):
        run.outputs[i].backward(run.leaves[i + 1].grad)

    # finite differences, and the three columns side by side
    rng = np.random.default_rng(seed)

    def loss_at(array: np.ndarray, start: int, nudge_input: bool) -> float:
        h = array if nudge_input else np.asarray(run.leaves[start])
        return loss_of(run.output_from(start, h)) if start < len(layers) else loss_of(h)

    def numeric(array: np.ndarray, start: int, nudge_input: bool) -> tuple[np.ndarray, int, np.ndarray]:
        """Centred differences at some entries (NaN elsewhere) and how many entries sat on a
        kink: where the one-sided slopes disagree (a max pool tie, ReLU at 0) the loss has no
        derivative to compare with, so the entry is counted, not compared."""
        result, kinks = np.full(array.shape, np.nan), np.zeros(array.shape, dtype=bool)
        centre = loss_at(array, start, nudge_input)
        for idx in _entries(array.shape, fd_entries, rng):
            original = array[idx]
            values = []
            for sign in (1, -1):
                array[idx] = original + sign * eps
                values.append(loss_at(array, start, nudge_input))
                array[idx] = original
            right, left = (values[0] - centre) / eps, (centre - values[1]) / eps
            if is_kink(right, left):
                kinks[idx] = True
                continue
            result[idx] = (values[0] - values[1]) / (2 * eps)
        return result, int(kinks.sum()), kinks

    numbering = notes_numbering(layers)
    last = max((i for i, (_, role) in enumerate(numbering) if role == "z"), default=len(layers) - 1)
    output_error = Check(
        deltas[last], np.asarray(run.leaves[last + 1].grad), *numeric(np.array(run.leaves[last + 1]), last + 1, True)
    )
    for i, (layer, work) in enumerate(zip(layers, works)):
        for line in work.backward:
            if line.check == "input":
                line.result = Check(
                    line.value, np.asarray(run.leaves[i].grad), *numeric(np.asarray(run.leaves[i]).copy(), i, True)
                )
            elif line.check is not None:
                param = getattr(layer, line.check)
                line.result = Check(line.value, np.asarray(param.grad), *numeric(np.asarray(param), i, False))

    steps = [
        LayerStep(
            i + 1,
            label(layer),
            np.asarray(run.leaves[i]),
            np.asarray(run.outputs[i]),
            deltas[i],
            works[i],
            *numbering[i],
        )
        for i, layer in enumerate(layers)
    ]
    new_loss = _loss_after_step(run, layers, works, lr, loss_of)
    modal = [m.training for m in layers if isinstance(m, (nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d))]
    training = None if not modal else any(modal)
    return Explanation(steps, x, targets, loss, value, output_error, lr, new_loss, training, eps, deltas[-1])


def notes_numbering(layers: list[nn.Module]) -> list[tuple[int, str]]:
    """(l, role) per module: each Linear or Conv2d starts layer l (its output is z^l), the
    activation right after it gives a^l."""
    numbering, number = [], 0
    for i, layer in enumerate(layers):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            number += 1
            numbering.append((number, "z"))
        elif isinstance(layer, ACTIVATION_LAYERS) and i and isinstance(layers[i - 1], (nn.Linear, nn.Conv2d)):
            numbering.append((number, "a"))
        else:
            numbering.append((number, ""))
    return numbering


def _loss_after_step(run: _Run, layers: list[nn.Module], works: list[LayerWork], lr: float, loss_of: Any) -> float:
    """The loss after θ := θ − η·(the formula's gradient), same batch and dropout masks."""
    saved = []
    for layer, work in zip(layers, works):
        for name, grad in work.grad_params.items():
            param = getattr(layer, name)
            saved.append((param, np.asarray(param).copy()))
            param.data -= lr * grad
    try:
        return loss_of(run.output_from(0, np.asarray(run.leaves[0])))
    finally:
        for param, data in saved:
            param.data[...] = data
