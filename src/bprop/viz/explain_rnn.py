"""``explain --rnn rnn|lstm --steps T``: backpropagation through time with every number shown.

A small recurrent net (2 inputs, 3 hidden units, T steps, torch's default init) reads random
inputs; the loss C = ½‖h_T − y‖² sits on the last step only, so every earlier step learns only
through the δ recursion of docs/rnn-backprop.md. For each step the gradient reaching the input,
∂C/∂x_t = W_ihᵀ δ_t, is shown three ways — the formula (bprop.reference's step-by-step BPTT),
bprop's autograd (the whole-sequence op) and centred finite differences — and then the norms
‖δ_t‖ and ‖∂C/∂x_t‖ per step for an RNN and an LSTM on the same inputs side by side: the RNN's
shrink geometrically going back in time, the LSTM's cell path keeps them.

The LSTM's forget-gate bias is set to 3 (σ(3) ≈ 0.95), the usual initialisation that lets the
cell start out remembering; with torch's default (f ≈ 0.5) its cell path would halve the
gradient at every step too.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from bprop import reference as ref
from bprop.i18n import pad, text
from bprop.ops.recurrent import LSTM, RNN
from bprop.tensor import Tensor

INPUTS, HIDDEN, FORGET_BIAS = 2, 3, 3.0


@dataclass
class _Net:
    kind: str
    xs: np.ndarray
    h0: np.ndarray
    w_ih: np.ndarray
    w_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    target: np.ndarray

    def loss(self, xs: np.ndarray) -> float:
        """C = ½‖h_T − y‖² by the reference forward pass."""
        return 0.5 * float(np.sum((self.states(xs)["hs"][-1] - self.target) ** 2))

    def states(self, xs: np.ndarray) -> dict:
        if self.kind == "rnn":
            return {"hs": ref.rnn(xs, self.h0, self.w_ih, self.w_hh, self.b_ih, self.b_hh)}
        return ref.lstm(xs, self.h0, self.h0, self.w_ih, self.w_hh, self.b_ih + self.b_hh)

    def formula(self) -> dict:
        """Every δ_t and ∂C/∂x_t by reference BPTT, with the loss gradient h_T − y at step T only."""
        forward = self.states(self.xs)
        gs = np.zeros((len(self.xs), HIDDEN))
        gs[-1] = forward["hs"][-1] - self.target
        if self.kind == "rnn":
            return ref.rnn_backward(self.xs, self.h0, self.w_ih, self.w_hh, forward["hs"], gs)
        return ref.lstm_backward(self.xs, self.h0, self.h0, self.w_ih, self.w_hh, forward, gs)

    def autograd(self) -> np.ndarray:
        """∂C/∂x_t from the whole-sequence op's hand-derived backward."""
        x = Tensor(self.xs[:, None, :].copy(), requires_grad=True)
        h0 = self.h0[None]
        weights = (self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        out = RNN.apply(x, h0, *weights) if self.kind == "rnn" else LSTM.apply(x, h0, h0, *weights)
        steps = len(self.xs)
        loss = ((out[steps - 1, 0] - Tensor(self.target)) ** 2).sum() * 0.5
        loss.backward()
        return np.asarray(x.grad)[:, 0, :]

    def finite_differences(self, eps: float = 1e-6) -> np.ndarray:
        grad = np.zeros_like(self.xs)
        for index in np.ndindex(self.xs.shape):
            plus, minus = self.xs.copy(), self.xs.copy()
            plus[index] += eps
            minus[index] -= eps
            grad[index] = (self.loss(plus) - self.loss(minus)) / (2 * eps)
        return grad


def _network(kind: str, steps: int, seed: int) -> _Net:
    """torch's init U(±1/√H) for every weight; the same inputs and target for either kind."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, INPUTS))
    target = rng.uniform(-0.5, 0.5, HIDDEN)
    gates = 1 if kind == "rnn" else 4
    bound = 1 / np.sqrt(HIDDEN)
    weights = np.random.default_rng(seed + 1)
    w_ih, w_hh = (weights.uniform(-bound, bound, (gates * HIDDEN, n)) for n in (INPUTS, HIDDEN))
    b_ih, b_hh = (weights.uniform(-bound, bound, gates * HIDDEN) for _ in range(2))
    if kind == "lstm":
        b_ih[HIDDEN : 2 * HIDDEN] = FORGET_BIAS
        b_hh[HIDDEN : 2 * HIDDEN] = 0.0
    return _Net(kind, xs, np.zeros(HIDDEN), w_ih, w_hh, b_ih, b_hh, target)


def _norms(net: _Net) -> tuple[np.ndarray, np.ndarray]:
    back = net.formula()
    return np.linalg.norm(np.array(back["deltas"]), axis=1), np.linalg.norm(back["dx"], axis=1)


@dataclass
class RNNExplanation:
    kind: str
    steps: int
    loss: float
    deltas: np.ndarray  # (T, gates·H) by the formula
    formula_dx: np.ndarray
    autograd_dx: np.ndarray
    numeric_dx: np.ndarray
    norms: dict  # kind → (‖δ_t‖, ‖∂C/∂x_t‖) per step

    @property
    def max_discrepancy(self) -> float:
        return float(
            max(np.abs(self.formula_dx - self.autograd_dx).max(), np.abs(self.formula_dx - self.numeric_dx).max())
        )

    def _recursion(self, lang: str = "en") -> list[str]:
        if self.kind == "rnn":
            return [
                "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)",
                text("rnn.dh_rnn", lang),
                "δ_t = (1 − h_t²) ⊙ ∂C/∂h_t,   ∂C/∂x_t = W_ihᵀ δ_t",
            ]
        return [
            "(î, f̂, s̃, ô) = (σ, σ, tanh, σ)(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)",
            "s_t = f̂ ⊙ s_{t−1} + î ⊙ s̃,   h_t = ô ⊙ tanh s_t",
            text("rnn.dh_lstm", lang),
            "δ_t = (∂s⊙s̃⊙î(1−î), ∂s⊙s_{t−1}⊙f̂(1−f̂), ∂s⊙î⊙(1−s̃²), ∂h⊙tanh s_t⊙ô(1−ô)),   ∂C/∂x_t = W_ihᵀ δ_t",
        ]

    def to_text(self, lang: str = "en") -> str:
        name = (
            text("rnn.name_rnn", lang) if self.kind == "rnn" else text("rnn.name_lstm", lang, bias=f"{FORGET_BIAS:g}")
        )
        lines = [
            text("rnn.head", lang, name=name, inputs=INPUTS, hidden=HIDDEN, steps=self.steps),
            text("rnn.loss", lang, steps=self.steps, loss=f"{self.loss:.6f}"),
            "",
            *self._recursion(lang),
            "",
            pad(text("rnn.step", lang), 6)
            + pad("‖δ_t‖", 11)
            + "".join(pad(text(key, lang), 25) for key in ("rnn.formula", "rnn.autograd"))
            + text("rnn.numeric", lang),
        ]
        for t in range(self.steps):
            lines.append(
                f"{t + 1:>4}  {np.linalg.norm(self.deltas[t]):9.3e}  {_vector(self.formula_dx[t])}  "
                f"{_vector(self.autograd_dx[t])}  {_vector(self.numeric_dx[t])}"
            )
        lines += [
            text("rnn.gap", lang, gap=f"{self.max_discrepancy:.2e}"),
            "",
            text("rnn.jacobians", lang),
            pad(text("rnn.step", lang), 10)
            + "RNN ‖δ_t‖   LSTM ‖δ_t‖    RNN ‖∂C/∂x_t‖  LSTM ‖∂C/∂x_t‖   "
            + text("rnn.log_scale", lang),
        ]
        rnn, lstm = self.norms["rnn"], self.norms["lstm"]
        for t in range(self.steps):
            lines.append(
                f"{t + 1:>4}  {rnn[0][t]:12.3e}  {lstm[0][t]:11.3e}  {rnn[1][t]:13.3e}  {lstm[1][t]:14.3e}   "
                f"{_bars(rnn[1][t], lstm[1][t])}"
            )
        first, last = 0, self.steps - 1
        change = {"rnn": f"{rnn[1][first] / rnn[1][last]:.2e}", "lstm": f"{lstm[1][first] / lstm[1][last]:.2e}"}
        lines.append(text("rnn.change", lang, last=last + 1, **change))
        return "\n".join(lines) + "\n"

    def to_markdown(self, lang: str = "en") -> str:
        command = f"`bprop explain --rnn {self.kind} --steps {self.steps}`"
        return f"# {text('rnn.title', lang)}\n\n{command}\n\n```\n{self.to_text(lang)}```\n"

    def to_html(self, lang: str = "en") -> str:
        title = html.escape(text("rnn.title", lang))
        return (
            f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            f"</head><body><h1>{title}</h1>"
            f"<pre>{html.escape(self.to_text(lang))}</pre></body></html>"
        )


def _vector(v: np.ndarray) -> str:
    return "[" + " ".join(f"{x:+.3e}" for x in v) + "]"


def _bars(rnn: float, lstm: float) -> str:
    """Two bars whose lengths are log10 of the value above 1e−12 (one mark per decade)."""

    def length(value: float) -> int:
        return max(0, round(float(np.log10(max(value, 1e-12))) + 12))

    return f"R {'#' * length(rnn):<14} L {'#' * length(lstm)}"


def explain_rnn(kind: str = "rnn", steps: int = 10, seed: int = 0) -> RNNExplanation:
    """Explain BPTT through ``kind`` ("rnn" or "lstm") over ``steps`` steps (1 to 100)."""
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"explain --rnn: choose rnn or lstm, not {kind!r}")
    if not 1 <= steps <= 100:
        raise ValueError(f"explain --steps must be an integer in [1, 100], got {steps}")
    net = _network(kind, steps, seed)
    back = net.formula()
    return RNNExplanation(
        kind,
        steps,
        net.loss(net.xs),
        np.array(back["deltas"]),
        back["dx"],
        net.autograd(),
        net.finite_differences(),
        {k: _norms(_network(k, steps, seed)) for k in ("rnn", "lstm")},
    )
