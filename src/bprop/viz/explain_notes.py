"""explain in note 000's words: layers l = 1…L with zˡ, aˡ and δˡ = ∂C/∂zˡ, the output error
δᴸ, the recursion δˡ = σ′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ written and evaluated on one line per layer, the
bridge ∂C/∂w_ij = δ_i a_j ↔ ∂C/∂W = δᵀA over the batch, and the table that maps the notes'
symbols onto this page's and torch's. Returns render blocks (see explain_render)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bprop.i18n import display_width, pad, text

if TYPE_CHECKING:
    from bprop.viz.explain import Explanation, LayerStep

_SUPERSCRIPTS = str.maketrans("0123456789+−-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")


def sup(n: int | str) -> str:
    """2 → ², "l+1" stays readable: digits and signs as superscripts."""
    return str(n).translate(_SUPERSCRIPTS).replace("l", "ˡ").replace("L", "ᴸ")


def inline(a: np.ndarray) -> str:
    """A small array on one line: one sample as a flat vector, a batch as its rows."""
    a = np.asarray(a, dtype=np.float64)
    a = a.reshape(-1) if a.ndim == 2 and a.shape[0] == 1 else a
    return np.array2string(a + 0.0, precision=6, separator=", ", suppress_small=True, max_line_width=10_000).replace(
        "\n", ""
    )


def notation(lang: str) -> list[tuple]:
    """The notes ↔ here ↔ torch table, as preformatted rows."""
    rows = [
        text("explain.notation.head", lang).split("|"),
        ["l = 1…L", "[l] Linear / Conv2d", "nn.Linear (l)", text("explain.notation.layer", lang)],
        ["zˡ = Wˡ aˡ⁻¹ + bˡ", "z,  Z = A Wᵀ + b", "z = linear(a)", text("explain.notation.z", lang)],
        ["aˡ = σ(zˡ)", "a", "a = torch.sigmoid(z)", text("explain.notation.a", lang)],
        ["wˡ_ij, bˡ_i", "W[i, j], b[i]", "linear.weight[i, j], .bias[i]", text("explain.notation.w", lang)],
        ["δˡ = ∂C/∂zˡ", "δˡ", "z.retain_grad(); z.grad", text("explain.notation.delta", lang)],
        ["∂C/∂wˡ_ij = δˡ_i aˡ⁻¹_j", "∂C/∂W = δᵀA", "linear.weight.grad", text("explain.notation.grad", lang)],
        ["C = (1/N) Σ_r Cʳ", "n = 1…N", "x[n]", text("explain.notation.batch", lang)],
    ]
    widths = [max(display_width(row[k]) for row in rows) for k in range(4)]
    lines = [" | ".join([*(pad(row[k], widths[k]) for k in range(3)), row[3]]) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return [
        ("section", text("explain.notation", lang)),
        ("pre", "\n".join(lines)),
        ("note", text("explain.rows", lang)),
    ]


def layer_title(step: LayerStep, lang: str) -> str:
    if step.role == "z":
        return f"[{step.index}] {step.label}  —  " + text("explain.layer_z", lang, l=step.layer, sup=sup(step.layer))
    if step.role == "a":
        return f"[{step.index}] {step.label}  —  " + text("explain.layer_a", lang, l=step.layer, sup=sup(step.layer))
    return f"[{step.index}] {step.label}"


def delta_name(step: LayerStep) -> str:
    """What arrives at the module's output, in the notes' letters."""
    if step.role == "z":
        return f"δ{sup(step.layer)} = ∂C/∂z{sup(step.layer)}"
    if step.role == "a":
        return f"∂C/∂a{sup(step.layer)}"
    return "∂C/∂y"


def sigma_prime(step: LayerStep) -> np.ndarray:
    english = (line.text if isinstance(line.text, str) else line.text.render("en") for line in step.work.backward)
    return next(line.value for line, words in zip(step.work.backward, english) if words.startswith("σ′"))


def output_error(e: Explanation, lang: str) -> list[tuple]:
    """∂C/∂aᴸ from the loss, then δᴸ = σ′(zᴸ) ⊙ ∂C/∂aᴸ (or the softmax's δᴸ)."""
    blocks: list[tuple] = [("section", text("explain.output_error", lang))]
    last = e.steps[-1]
    if e.loss_name == "cross_entropy" and last.role == "z":
        blocks.append(("note", text("explain.softmax_last", lang)))
        blocks.append(("line", "δᴸ = ∂C/∂zᴸ = (softmax(zᴸ) − y)/N", e.output_error.formula))
        return blocks
    loss = "(softmax(aᴸ) − y)/N" if e.loss_name == "cross_entropy" else "2(aᴸ − y)/(N·K)"
    blocks.append(("line", f"∂C/∂aᴸ = {loss}", e.output_grad))
    if last.role == "a":
        blocks.append(("line", "σ′(zᴸ)", sigma_prime(last)))
        blocks.append(
            (
                "line",
                f"δᴸ = σ′(zᴸ) ⊙ ∂C/∂aᴸ = {inline(sigma_prime(last))} ⊙ {inline(e.output_grad)}",
                e.output_error.formula,
            )
        )
    else:
        blocks.append(("line", "δᴸ = ∂C/∂zᴸ", e.output_error.formula))
    return blocks


def dense_layers(e: Explanation) -> list[tuple[LayerStep, LayerStep | None]] | None:
    """(Linear step, its activation step or None) per layer, when the chain is note 000's
    network (Linear layers and activations only); None otherwise."""
    pairs: list[tuple[LayerStep, LayerStep | None]] = []
    for step in e.steps:
        if step.role == "z" and step.label.startswith("Linear"):
            pairs.append((step, None))
        elif step.role == "a" and pairs:
            pairs[-1] = (pairs[-1][0], step)
        elif not step.label.startswith(("Flatten", "Identity")) or pairs:
            return None
    return pairs or None


def recursion(e: Explanation, lang: str) -> list[tuple]:
    """δˡ = σ′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ for l = L−1 … 1, each written and evaluated on one line,
    then the bridge to the weight gradients."""
    pairs = dense_layers(e)
    if pairs is None:
        return []
    blocks: list[tuple] = [("section", text("explain.recursion", lang)), ("note", text("explain.recursion.note", lang))]
    for k in range(len(pairs) - 1, 0, -1):
        linear, activation = pairs[k - 1]
        upper = pairs[k][0]
        back = upper.delta @ upper.work.forward[0].value  # (Wˡ⁺¹)ᵀ δˡ⁺¹, one row per sample
        slope = sigma_prime(activation) if activation is not None else np.ones_like(back)
        s, s1 = sup(k), sup(k + 1)
        formula = f"δ{s} = σ′(z{s}) ⊙ (W{s1})ᵀ δ{s1} = {inline(slope)} ⊙ {inline(back)}"
        blocks.append(("line", formula, linear.delta))
    blocks += [("section", text("explain.bridge", lang)), ("note", text("explain.bridge.note", lang))]
    for k, (linear, _) in enumerate(pairs, 1):
        grads = {line.check: line.value for line in linear.work.backward if line.check}
        s, s0 = sup(k), sup(k - 1)
        a_prev = "x" if k == 1 else f"A{s0}"
        blocks.append(("line", f"∂C/∂W{s} = (Δ{s})ᵀ {a_prev}", grads["weight"]))
        if "bias" in grads:
            blocks.append(("line", f"∂C/∂b{s} = Σ_r δ{s}_r", grads["bias"]))
    return blocks
