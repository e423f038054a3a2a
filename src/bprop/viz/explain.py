"""``explain``: backpropagation through a small fully connected network, every number shown.

For one sample it computes, by the study notes' formulas and independently of autograd,

    z^l = W^l a^{l−1} + b^l,   a^l = σ(z^l)                                   (forward)
    δ^L = ∂C/∂a^L ⊙ σ'(z^L)      (or p − y for softmax with cross-entropy)     (output error)
    δ^l = σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}                                        (the recursion)
    ∂C/∂W^l = δ^l (a^{l−1})ᵀ,   ∂C/∂b^l = δ^l                                 (gradients)

and sets beside every gradient the value bprop's autograd finds and the finite-difference value
(nudge the weight by ±ε, watch the loss), then takes one gradient-descent step θ := θ − η∇C and
reports the new loss. The default is the 2-2-2 sigmoid network with squared error used in
teaching (inputs 0.05, 0.10; targets 0.01, 0.99; its classic weights).
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import bprop.nn.functional as F
from bprop import nn
from bprop.ops.activation import sigmoid_array
from bprop.tensor import Tensor

ACTIVATIONS = {"sigmoid", "tanh", "relu", "identity"}
LOSSES = {"mse", "cross_entropy"}


def sigma(name: str, z: np.ndarray) -> np.ndarray:
    return {"sigmoid": sigmoid_array, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "identity": lambda v: v}[
        name
    ](z)


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    """σ'(z): σ(1 − σ) for the sigmoid, 1 − tanh² for tanh, the step for ReLU."""
    if name == "sigmoid":
        s = sigmoid_array(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(z.dtype)
    return np.ones_like(z)


def teaching_network() -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """The classic 2-2-2 sigmoid example: w1…w8 = 0.15…0.55, b1 = 0.35, b2 = 0.60."""
    model = build_network([2, 2, 2], "sigmoid")
    model[0].weight.data[...] = [[0.15, 0.20], [0.25, 0.30]]
    model[0].bias.data[...] = 0.35
    model[2].weight.data[...] = [[0.40, 0.45], [0.50, 0.55]]
    model[2].bias.data[...] = 0.60
    return model, np.array([0.05, 0.10]), np.array([0.01, 0.99])


def build_network(sizes: Sequence[int], activation: str, seed: int = 0) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation (float64)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"explain: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        linear = nn.Linear(fan_in, fan_out).to(np.float64)
        linear.weight.data[...] = rng.normal(0, 1 / np.sqrt(fan_in), (fan_out, fan_in))
        linear.bias.data[...] = rng.normal(0, 0.1, fan_out)
        layers += [linear, _activation_layer(activation)]
    return nn.Sequential(*layers)


def _activation_layer(name: str) -> nn.Module:
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}[name]()


def _layers(model: nn.Module) -> list[tuple[nn.Linear, str]]:
    """(Linear, activation name) pairs of a Sequential of Linear [+ activation] layers."""
    names = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity"}
    mods = list(model) if isinstance(model, nn.Sequential) else [model]
    pairs: list[tuple[nn.Linear, str]] = []
    for m in mods:
        if isinstance(m, nn.Linear):
            pairs.append((m, "identity"))
        elif type(m) in names and pairs and pairs[-1][1] == "identity":
            pairs[-1] = (pairs[-1][0], names[type(m)])
        else:
            raise ValueError(
                f"explain: expected a Sequential of Linear layers each optionally followed by "
                f"Sigmoid/Tanh/ReLU/Identity, found {type(m).__name__}"
            )
    return pairs


@dataclass
class Explanation:
    activations: list[str]
    x: np.ndarray
    y: np.ndarray
    loss_name: str
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    z: list[np.ndarray] = field(default_factory=list)
    a: list[np.ndarray] = field(default_factory=list)
    loss: float = 0.0
    delta: list[np.ndarray] = field(default_factory=list)
    grad_w: list[np.ndarray] = field(default_factory=list)
    grad_b: list[np.ndarray] = field(default_factory=list)
    autograd_w: list[np.ndarray] = field(default_factory=list)
    autograd_b: list[np.ndarray] = field(default_factory=list)
    numeric_w: list[np.ndarray] = field(default_factory=list)
    numeric_b: list[np.ndarray] = field(default_factory=list)
    lr: float = 0.5
    new_loss: float = 0.0

    @property
    def max_discrepancy(self) -> float:
        """Largest |formula − autograd| or |formula − finite difference| over all gradients."""
        pairs = zip(self.grad_w + self.grad_b, self.autograd_w + self.autograd_b, self.numeric_w + self.numeric_b)
        return max(max(np.abs(f - a).max(), np.abs(f - n).max()) for f, a, n in pairs)

    def to_text(self) -> str:
        return _render(self, _TEXT)

    def to_markdown(self) -> str:
        return _render(self, _MARKDOWN)

    def to_html(self) -> str:
        body = html.escape(self.to_text())
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>bprop explain</title><style>"
            "body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}</style></head><body>"
            f"<h1>Backpropagation, every number</h1>{network_svg(self)}<pre>{body}</pre></body></html>"
        )


def _loss_and_output_error(
    name: str, a_out: np.ndarray, z_out: np.ndarray, y: np.ndarray, activation: str
) -> tuple[float, np.ndarray]:
    if name == "mse":  # C = (1/n) Σ (a − y)², ∂C/∂a = 2(a − y)/n
        n = a_out.size
        return float(np.mean((a_out - y) ** 2)), (2.0 / n) * (a_out - y) * sigma_prime(activation, z_out)
    p = np.exp(z_out - z_out.max())
    p /= p.sum()
    return float(-np.sum(y * np.log(p))), p - y  # softmax + cross-entropy: δ^L = p − y


def explain(
    model: nn.Module | None = None, x: Any = None, y: Any = None, loss: str = "mse", lr: float = 0.5, eps: float = 1e-6
) -> Explanation:
    """Backprop through ``model`` (default: the 2-2-2 teaching network) for one sample (x, y).

    ``loss`` is "mse" (C = mean of (a^L − y)²; for two outputs this is the classic ½Σ(a − y)²)
    or "cross_entropy" (softmax of the last pre-activations z^L, y one-hot or probabilities).
    """
    if loss not in LOSSES:
        raise ValueError(f"explain: loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if model is None:
        model, x0, y0 = teaching_network()
        x, y = (x0 if x is None else x), (y0 if y is None else y)
    model = model.to(np.float64)
    pairs = _layers(model)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.size != pairs[0][0].in_features or y.size != pairs[-1][0].out_features:
        raise ValueError(
            f"explain: the network takes {pairs[0][0].in_features} inputs and gives "
            f"{pairs[-1][0].out_features} outputs; got x of size {x.size} and y of size {y.size}"
        )
    acts = [act for _, act in pairs]
    if loss == "cross_entropy":
        acts[-1] = "identity"  # softmax is part of the loss
    e = Explanation(
        acts, x, y, loss, [m.weight.data.copy() for m, _ in pairs], [m.bias.data.copy() for m, _ in pairs], lr=lr
    )
    _by_formula(e)
    _by_autograd(e, model, pairs)
    _by_finite_differences(e, eps)
    e.new_loss = _loss_at(
        e, [w - lr * g for w, g in zip(e.weights, e.grad_w)], [b - lr * g for b, g in zip(e.biases, e.grad_b)]
    )
    return e


def _forward(e: Explanation, weights: list[np.ndarray], biases: list[np.ndarray]):
    a, zs, activations = e.x, [], [e.x]
    for w, b, act in zip(weights, biases, e.activations):
        z = w @ a + b
        a = sigma(act, z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def _loss_at(e: Explanation, weights: list[np.ndarray], biases: list[np.ndarray]) -> float:
    zs, activations = _forward(e, weights, biases)
    return _loss_and_output_error(e.loss_name, activations[-1], zs[-1], e.y, e.activations[-1])[0]


def _by_formula(e: Explanation) -> None:
    e.z, e.a = _forward(e, e.weights, e.biases)
    e.loss, delta = _loss_and_output_error(e.loss_name, e.a[-1], e.z[-1], e.y, e.activations[-1])
    deltas = [delta]
    for layer in range(len(e.weights) - 1, 0, -1):  # δ^l = σ'(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}
        deltas.insert(0, sigma_prime(e.activations[layer - 1], e.z[layer - 1]) * (e.weights[layer].T @ deltas[0]))
    e.delta = deltas
    e.grad_w = [np.outer(d, a_prev) for d, a_prev in zip(deltas, e.a[:-1])]  # δ^l (a^{l−1})ᵀ
    e.grad_b = [d.copy() for d in deltas]


def _by_autograd(e: Explanation, model: nn.Module, pairs: list) -> None:
    """The same network through bprop's ops and autograd (softmax fused into the loss for CE)."""
    model.zero_grad()
    h = Tensor(e.x[None])
    for linear, act in zip([m for m, _ in pairs], e.activations):
        h = _activation_layer(act)(linear(h))
    loss = F.mse_loss(h, Tensor(e.y[None])) if e.loss_name == "mse" else F.cross_entropy(h, e.y[None])
    loss.backward()
    e.autograd_w = [m.weight.grad.copy() for m, _ in pairs]
    e.autograd_b = [m.bias.grad.copy() for m, _ in pairs]


def _by_finite_differences(e: Explanation, eps: float) -> None:
    """(C(θ + ε) − C(θ − ε)) / 2ε for every weight and bias, one at a time."""

    def numeric(params: list[np.ndarray], is_weight: bool) -> list[np.ndarray]:
        grads = []
        for i, p in enumerate(params):
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                values = []
                for sign in (1, -1):
                    nudged = [q.copy() for q in params]
                    nudged[i][idx] += sign * eps
                    w, b = (nudged, e.biases) if is_weight else (e.weights, nudged)
                    values.append(_loss_at(e, w, b))
                g[idx] = (values[0] - values[1]) / (2 * eps)
            grads.append(g)
        return grads

    e.numeric_w = numeric(e.weights, True)
    e.numeric_b = numeric(e.biases, False)


# ----- rendering ----------------------------------------------------------------------------
_TEXT = {"h": "{}\n" + "-" * 60, "eq": "{}", "sup": "^{}", "code": "{}"}
_MARKDOWN = {"h": "### {}", "eq": "$${}$$", "sup": "^{{{}}}", "code": "`{}`"}


def _fmt(v: np.ndarray) -> str:
    return np.array2string(np.asarray(v), precision=6, suppress_small=True, max_line_width=100)


def _render(e: Explanation, style: dict[str, str]) -> str:
    h, eq = style["h"].format, style["eq"].format
    L = len(e.weights)
    out = [
        h(f"Network {[e.x.size] + [w.shape[0] for w in e.weights]}, activations {e.activations}, loss {e.loss_name}"),
        f"x = a^0 = {_fmt(e.x)}",
        f"y = {_fmt(e.y)}",
        "",
        h("Forward pass"),
    ]
    for l_ in range(1, L + 1):
        out += [
            eq(f"z^{l_} = W^{l_} a^{l_ - 1} + b^{l_}") + f"  = {_fmt(e.z[l_ - 1])}",
            eq(f"a^{l_} = sigma(z^{l_})") + f"  = {_fmt(e.a[l_])}",
        ]
    out += [f"C = {e.loss:.9f}", "", h("Output error")]
    out.append(
        eq(f"delta^{L} = p - y") if e.loss_name == "cross_entropy" else eq(f"delta^{L} = dC/da^{L} * sigma'(z^{L})")
    )
    out.append(f"delta^{L} = {_fmt(e.delta[-1])}")
    out += ["", h("Backward recursion")]
    for l_ in range(L - 1, 0, -1):
        out.append(eq(f"delta^{l_} = sigma'(z^{l_}) * (W^{l_ + 1})^T delta^{l_ + 1}") + f"  = {_fmt(e.delta[l_ - 1])}")
    out += ["", h("Gradients: formula | autograd | finite differences")]
    for l_ in range(1, L + 1):
        out.append(eq(f"dC/dW^{l_} = delta^{l_} (a^{l_ - 1})^T"))
        for idx in np.ndindex(e.grad_w[l_ - 1].shape):
            out.append(
                f"  W^{l_}{list(idx)} = {e.weights[l_ - 1][idx]: .6f}   dC/dW = "
                f"{e.grad_w[l_ - 1][idx]: .9f} | {e.autograd_w[l_ - 1][idx]: .9f} | "
                f"{e.numeric_w[l_ - 1][idx]: .9f}"
            )
        out.append(eq(f"dC/db^{l_} = delta^{l_}"))
        for idx in np.ndindex(e.grad_b[l_ - 1].shape):
            out.append(
                f"  b^{l_}{list(idx)} = {e.biases[l_ - 1][idx]: .6f}   dC/db = "
                f"{e.grad_b[l_ - 1][idx]: .9f} | {e.autograd_b[l_ - 1][idx]: .9f} | "
                f"{e.numeric_b[l_ - 1][idx]: .9f}"
            )
    out += [
        f"largest disagreement: {e.max_discrepancy:.2e}",
        "",
        h("One gradient-descent step"),
        eq(f"theta := theta - {e.lr} * grad C"),
        f"loss {e.loss:.9f} -> {e.new_loss:.9f}",
    ]
    if style is _MARKDOWN:
        out = [
            line.replace("sigma", r"\sigma")
            .replace("delta", r"\delta")
            .replace("theta", r"\theta")
            .replace("grad C", r"\nabla C")
            .replace(" * ", r" \odot ")
            if line.startswith("$$")
            else line
            for line in out
        ]
        out = [line if line.startswith(("$$", "###")) or not line else line + "  " for line in out]
    return "\n".join(out) + "\n"


def _colour(value: float, scale: float) -> str:
    """Blue for negative, red for positive, white for zero."""
    t = 0.0 if scale == 0 else max(-1.0, min(1.0, value / scale))
    r, g, b = (255, int(255 * (1 - t)), int(255 * (1 - t))) if t >= 0 else (int(255 * (1 + t)), int(255 * (1 + t)), 255)
    return f"rgb({r},{g},{b})"


def network_svg(e: Explanation) -> str:
    """Neurons coloured by activation, weights coloured by gradient (width ∝ |w|), inline SVG."""
    sizes = [e.x.size] + [w.shape[0] for w in e.weights]
    width, height = 160 * len(sizes), 70 * max(sizes) + 40
    pos = [[(80 + 160 * l_, 40 + (height - 40) * (i + 0.5) / n) for i in range(n)] for l_, n in enumerate(sizes)]
    gmax = max(np.abs(g).max() for g in e.grad_w) or 1.0
    wmax = max(np.abs(w).max() for w in e.weights) or 1.0
    parts = [f"<svg width='{width}' height='{height}' font-size='11'>"]
    for l_, (w, g) in enumerate(zip(e.weights, e.grad_w)):
        for j, i in np.ndindex(w.shape):
            (x1, y1), (x2, y2) = pos[l_][i], pos[l_ + 1][j]
            parts.append(
                f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' "
                f"stroke='{_colour(g[j, i], gmax)}' stroke-width='{1 + 5 * abs(w[j, i]) / wmax:.1f}'>"
                f"<title>w={w[j, i]:.4f} dC/dw={g[j, i]:.6f}</title></line>"
            )
    for l_, layer in enumerate(pos):
        values = e.a[l_]
        for i, (cx, cy) in enumerate(layer):
            parts.append(
                f"<circle cx='{cx:.0f}' cy='{cy:.0f}' r='18' fill='{_colour(values[i], 1.0)}' stroke='black'>"
                f"<title>a={values[i]:.6f}</title></circle><text x='{cx:.0f}' y='{cy + 4:.0f}' "
                f"text-anchor='middle'>{values[i]:.3f}</text>"
            )
    return "".join(parts) + "</svg>"
