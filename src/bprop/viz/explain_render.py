"""How an ``Explanation`` reads: plain text, Markdown or one HTML page, in English or Chinese.

One builder turns the explanation into blocks (section, layer, line with a value, remark); each
format renders the blocks. Tensors of up to FULL values are printed whole; larger ones are
summarised (shape, norm, mean, range and their first values), so that the output of any net
stays readable. Every word comes from the en/zh catalogue (``bprop.i18n``): Chinese
(``lang="zh"``, the study notes' language) is written as Chinese sentences; the mathematics
stays as it is.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.i18n import Msg, check_lang
from bprop.i18n import text as catalogue
from bprop.viz import explain_notes as notes

if TYPE_CHECKING:
    from bprop.viz.explain import Explanation
    from bprop.viz.explain_layers import Check

FULL = 24  # tensors with at most this many values are printed whole
WHOLE = 16  # …and the steps note 001 left as a TODO (dilated δ, full convolution, crop) up to 16×16
EXPANDED = 4096  # the HTML page lets the reader open any summarised tensor up to this many values
COLUMNS = 8  # …and their autograd and finite-difference values too when at most this many


def words(part: Any, lang: str) -> str:
    """A catalogue Msg in ``lang``; a str (mathematics) as it is."""
    return part.render(lang) if isinstance(part, Msg) else part


def paren(inner: str, lang: str) -> str:
    """A remark after a formula: "   (…)" in English, "（…）" in Chinese."""
    return f"（{inner}）" if lang == "zh" else f"   ({inner})"


def shape_note(a: np.ndarray, lang: str) -> str:
    """The shape after a name: "x (2×3)", "x（2×3）"."""
    return f"（{shape_text(a, lang)}）" if lang == "zh" else f" ({shape_text(a, lang)})"


def gap_text(gap: float) -> str:
    """A largest difference: 0 when there is none, else two significant digits."""
    return "0" if gap == 0 else f"{gap:.1e}"


def shape_text(a: np.ndarray, lang: str = "en") -> str:
    return "×".join(map(str, a.shape)) if a.ndim else catalogue("xl.scalar", lang)


def value_text(value: Any, lang: str = "en", whole: bool = False) -> str:
    """A number, a whole small array, or a summary of a large one; ``whole``: a 2-D array up to
    WHOLE×WHOLE is printed in full."""
    if value is None:
        return ""
    if whole and np.ndim(value) == 2 and max(np.shape(value)) <= WHOLE:
        return np.array2string(
            np.asarray(value, dtype=np.float64) + 0.0,
            precision=4,
            suppress_small=True,
            max_line_width=200,
            threshold=10**6,
        )
    a = np.asarray(value, dtype=np.float64)
    if a.size and np.isfinite(a).all():  # rounding noise (1e-17 where the sum is 0) would print as −0.
        a = np.where(np.abs(a) < max(1e-12 * np.abs(a).max(), 1e-15), 0.0, a)
    a = a + 0.0  # + 0.0 prints −0 as 0
    if a.ndim == 0:
        return f"{float(a):.9g}"
    if a.size <= FULL and a.ndim > 2:  # a few values of a 4-D tensor: one flat row reads better
        return f"({shape_text(a)}) " + np.array2string(
            a.reshape(-1), precision=6, suppress_small=True, max_line_width=100
        )
    if a.size <= FULL:
        return np.array2string(a, precision=6, suppress_small=True, max_line_width=100)
    first = [f"{v:.4g}" for v in a.reshape(-1)[:6]]  # joined by ", " or "、"
    mean = a.mean() if abs(a.mean()) >= 1e-12 * np.abs(a).max() else 0.0  # a sum that cancels: 0, not 1e-19
    stats = {"norm": np.linalg.norm(a), "mean": mean, "low": a.min(), "high": a.max()}
    return catalogue(
        "xl.summarised", lang, shape=shape_text(a), first=first, **{k: f"{v:.4g}" for k, v in stats.items()}
    )


def dashed(check: Check) -> str:
    """The finite differences, with — at a kink (no derivative there) and · where none was taken."""
    numeric = np.asarray(check.numeric, dtype=np.float64)
    kink = check.kink if check.kink is not None else np.zeros(numeric.shape, dtype=bool)
    marks = np.where(kink, "—", np.where(np.isnan(numeric), "·", ""))
    # six decimals at most, as the formula's and autograd's lines above print (np.array2string)
    digits = [np.format_float_positional(v, precision=6, trim="-") for v in np.nan_to_num(numeric).ravel() + 0.0]
    values = np.where(marks == "", np.array(digits, dtype=object).reshape(numeric.shape), marks)
    return np.array2string(values, formatter={"all": str}, max_line_width=100)


def _agreement(check: Check, lang: str) -> list[tuple[str, str]]:
    rows = []
    total = check.formula.size
    if total <= COLUMNS:
        rows.append((catalogue("xl.autograd", lang), value_text(check.autograd)))
        rows.append((catalogue("xl.numeric", lang), dashed(check)))
    auto_gap = float(np.max(np.abs(check.formula - check.autograd), initial=0.0))
    taken = ~np.isnan(check.numeric)
    fd_gap = float(np.max(np.abs(check.formula - check.numeric)[taken], initial=0.0))
    kinks = catalogue("xl.agreement_kinks", lang, count=check.kinks) if check.kinks else ""
    gaps = {"auto": gap_text(auto_gap), "numeric": gap_text(fd_gap)}
    rows.append(("", catalogue("xl.agreement", lang, checked=check.checked, total=total, kinks=kinks, **gaps)))
    if check.kinks and total <= COLUMNS:
        rows.append(("", catalogue("explain.kink", lang)))
    return rows


# ----- blocks -------------------------------------------------------------------------------
# ("section", title) | ("layer", title) | ("line", math, value) | ("check", label, value) | ("note", text)
Block = tuple


def blocks(e: Explanation, lang: str) -> list[Block]:
    check_lang(lang)

    def t(key: str, **values: Any) -> str:
        return catalogue(key, lang, **values)

    chain = " → ".join(
        f"[{s.index}] {s.label}"
        + (f" z{notes.sup(s.layer)}" if s.role == "z" else f" a{notes.sup(s.layer)}" if s.role == "a" else "")
        for s in e.steps
    )
    mode = "" if e.training is None else t("xl.training" if e.training else "xl.evaluation")
    out: list[Block] = [
        ("section", t("xl.network", chain=chain)),
        ("note", t("xl.loss_ce" if e.loss_name == "cross_entropy" else "xl.loss_mse") + mode),
        ("line", t("xl.batch", n=e.x.shape[0]) + shape_note(e.x, lang), e.x),
        ("line", t("xl.targets") + shape_note(e.targets, lang), e.targets),
        *notes.notation(lang),
        ("section", t("xl.forward")),
    ]
    for step in e.steps:
        out.append(("layer", notes.layer_title(step, lang)))
        for line in step.work.forward:
            out.append(("line", _math(line, lang), line.value, line.whole))
    loss_formula = "C = −(1/N) Σ_r log softmax(zᴸ_r)[y_r]" if e.loss_name == "cross_entropy" else "C = mean (aᴸ − y)²"
    out.append(("line", loss_formula, e.loss))
    out += notes.output_error(e, lang)
    out += [("check", *row) for row in _agreement(e.output_error, lang)]
    out += notes.recursion(e, lang)
    out.append(("section", t("xl.backward")))
    for step in reversed(e.steps):
        out.append(("layer", notes.layer_title(step, lang)))
        out.append(("line", notes.delta_name(step) + paren(shape_text(step.delta), lang), step.delta))
        for line in step.work.backward:
            out.append(("line", _math(line, lang), line.value, line.whole))
            if line.result is not None:
                out += [("check", *row) for row in _agreement(line.result, lang)]
    out.append(("section", t("xl.summary")))
    out.append(("note", t("xl.largest", gap=f"{e.max_discrepancy:.2e}")))
    out.append(("note", t("xl.step", lr=f"{e.lr:g}", before=f"{e.loss:.9f}", after=f"{e.new_loss:.9f}")))
    return out


def _math(line: Any, lang: str) -> str:
    text = words(line.text, lang)
    return text + paren(words(line.note, lang), lang) if line.note else text


# ----- formats ------------------------------------------------------------------------------
def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def _indent(text: str, pad: str) -> str:
    return text.replace("\n", "\n" + pad)


def text(e: Explanation, lang: str = "en") -> str:
    lines: list[str] = []
    for block in blocks(e, lang):
        kind = block[0]
        if kind == "section":
            lines += ["", block[1], "-" * 72]
        elif kind == "layer":
            lines.append(block[1])
        elif kind == "note":
            lines.append(block[1])
        elif kind == "pre":
            lines.append("    " + _indent(block[1], "    "))
        elif kind == "line":
            value = value_text(block[2], lang, whole=len(block) > 3 and block[3])
            if not value:
                lines.append(f"    {block[1]}")
            elif "\n" in value or len(block[1]) + len(value) > 90:
                lines += [f"    {block[1]} =", "        " + _indent(value, "        ")]
            else:
                lines.append(f"    {block[1]} = {value}")
        elif "\n" in block[2]:  # check: a small array of autograd or finite differences
            lines += [f"        {block[1]} =", "            " + _indent(block[2], "            ")]
        else:
            lines.append(f"        {block[1] + _colon(lang) if block[1] else ''}{block[2]}")
    return "\n".join(lines).lstrip("\n") + "\n"


def markdown(e: Explanation, lang: str = "en") -> str:
    lines: list[str] = []
    for block in blocks(e, lang):
        kind = block[0]
        if kind == "section":
            lines += ["", f"### {block[1]}", ""]
        elif kind == "layer":
            lines += ["", f"**{block[1]}**", ""]
        elif kind == "note":
            lines.append(block[1] + "  ")
        elif kind == "pre":
            lines += ["```", block[1], "```"]
        elif kind == "line":
            value = value_text(block[2], lang, whole=len(block) > 3 and block[3])
            lines.append(f"- `{block[1]}`" + (f"\n\n  ```\n  {_indent(value, '  ')}\n  ```" if value else ""))
        else:
            lines.append(f"  - {block[1] + _colon(lang) if block[1] else ''}`{block[2]}`")
    return "\n".join(lines).lstrip("\n") + "\n"


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "pre{background:#f6f6f6;padding:.4em .8em;margin:.2em 0 .6em 1.5em}"
    "h3{margin-bottom:.2em}.math{font-family:monospace}.check{color:#555;margin-left:1.5em;font-size:90%}"
)


def page(e: Explanation, lang: str = "en", viewer: str | None = None) -> str:
    esc = html.escape
    parts: list[str] = []
    for block in blocks(e, lang):
        kind = block[0]
        if kind == "section":
            parts.append(f"<h2>{esc(block[1])}</h2>")
        elif kind == "layer":
            parts.append(f"<h3>{esc(block[1])}</h3>")
        elif kind == "note":
            parts.append(f"<p>{esc(block[1])}</p>")
        elif kind == "pre":
            parts.append(f"<pre>{esc(block[1])}</pre>")
        elif kind == "line":
            value = value_text(block[2], lang, whole=len(block) > 3 and block[3])
            parts.append(f"<div class='math'>{esc(block[1])}</div>" + (f"<pre>{esc(value)}</pre>" if value else ""))
            parts.append(_expandable(block[2], lang))
        else:
            parts.append(f"<div class='check'>{esc(block[1] + _colon(lang) if block[1] else '')}{esc(block[2])}</div>")
    link = f"<p><a href='{esc(viewer)}'>{esc(catalogue('xl.viewer_link', lang))}</a></p>" if viewer else ""
    drawing = network_svg(e)
    caption = f"<p>{esc(catalogue('xl.drawing', lang))}</p>" if drawing else ""
    title = esc(catalogue("explain.title", lang))
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>{link}{drawing}{caption}"
        + "".join(parts)
        + "</body></html>"
    )


def _expandable(value: Any, lang: str) -> str:
    """A summarised tensor's every value, folded under a <details> the reader can open."""
    if value is None or np.size(value) <= FULL or np.size(value) > EXPANDED:
        return ""
    full = np.array2string(np.asarray(value, dtype=np.float64), precision=6, threshold=10**6, max_line_width=160)
    label = catalogue("explain.all_values", lang, count=np.size(value))
    return f"<details><summary>{html.escape(label)}</summary><pre>{html.escape(full)}</pre></details>"


def _colour(value: float, scale: float) -> str:
    """Blue for negative, red for positive, white for zero."""
    t = 0.0 if scale == 0 else max(-1.0, min(1.0, value / scale))
    r, g, b = (255, int(255 * (1 - t)), int(255 * (1 - t))) if t >= 0 else (int(255 * (1 + t)), int(255 * (1 + t)), 255)
    return f"rgb({r},{g},{b})"


MAX_DRAWN = 12  # draw dense nets whose layers have at most this many units


def network_svg(e: Explanation) -> str:
    """A dense net drawn as neurons and connections (inline SVG), or "" for other nets.

    Columns are the input and the output of each Linear layer together with the elementwise
    layers after it (batch norm, activation, dropout); neurons show sample 0's values, lines
    the weights, coloured by ∂C/∂W and as wide as |W|.
    """
    columns: list[np.ndarray] = [e.x[0]] if e.x.ndim == 2 else []
    weights: list[tuple[np.ndarray, np.ndarray]] = []
    for step in e.steps:
        if step.label.startswith("Linear"):
            grad = next(line.value for line in step.work.backward if line.check == "weight")
            weights.append((step.work.forward[0].value, grad))
            columns.append(step.output[0])
        elif step.output.ndim == 2 and columns and step.output.shape[1] == columns[-1].size:
            columns[-1] = step.output[0]
        else:
            return ""
    if not weights or len(columns) != len(weights) + 1 or max(c.size for c in columns) > MAX_DRAWN:
        return ""
    sizes = [c.size for c in columns]
    width, height = 160 * len(sizes), 70 * max(sizes) + 40
    pos = [[(80 + 160 * k, 40 + (height - 40) * (i + 0.5) / n) for i in range(n)] for k, n in enumerate(sizes)]
    gmax = max(np.abs(g).max() for _, g in weights) or 1.0
    wmax = max(np.abs(w).max() for w, _ in weights) or 1.0
    parts = [f"<svg width='{width}' height='{height}' font-size='11'>"]
    for k, (w, g) in enumerate(weights):
        for j, i in np.ndindex(w.shape):
            (x1, y1), (x2, y2) = pos[k][i], pos[k + 1][j]
            parts.append(
                f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' "
                f"stroke='{_colour(g[j, i], gmax)}' stroke-width='{1 + 5 * abs(w[j, i]) / wmax:.1f}'>"
                f"<title>w = {w[j, i]:.4f}, ∂C/∂w = {g[j, i]:.6f}</title></line>"
            )
    for k, layer in enumerate(pos):
        for i, (cx, cy) in enumerate(layer):
            v = float(columns[k][i])
            parts.append(
                f"<circle cx='{cx:.0f}' cy='{cy:.0f}' r='18' fill='{_colour(v, 1.0)}' stroke='black'>"
                f"<title>a = {v:.6f}</title></circle><text x='{cx:.0f}' y='{cy + 4:.0f}' "
                f"text-anchor='middle'>{v:.3f}</text>"
            )
    return "".join(parts) + "</svg>"
