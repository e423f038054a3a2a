"""How an ``Explanation`` reads: plain text, Markdown or one HTML page, in English or Chinese.

One builder turns the explanation into blocks (section, layer, line with a value, remark); each
format renders the blocks. Tensors of up to FULL values are printed whole; larger ones are
summarised (shape, norm, mean, range and their first values), so that the output of any net
stays readable. Chinese (``lang="zh"``, the study notes' language) translates the words; the
mathematics stays as it is.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.i18n import text as catalogue
from bprop.viz import explain_notes as notes

if TYPE_CHECKING:
    from bprop.viz.explain import Explanation
    from bprop.viz.explain_layers import Check

FULL = 24  # tensors with at most this many values are printed whole
WHOLE = 16  # …and the steps note 001 left as a TODO (dilated δ, full convolution, crop) up to 16×16
EXPANDED = 4096  # the HTML page lets the reader open any summarised tensor up to this many values
COLUMNS = 8  # …and their autograd and finite-difference values too when at most this many

ZH = {
    "Network": "网络",
    "loss": "损失",
    "cross-entropy of the softmax, mean over the batch": "softmax 交叉熵, 对批次取平均",
    "squared error, mean over all outputs": "平方误差, 对所有输出取平均",
    "training mode": "训练模式",
    "evaluation mode": "评估模式",
    "Batch of N": "批次大小 N",
    "targets": "目标",
    "Forward pass": "前向传播",
    "Output error": "输出误差",
    "Backward pass, layer by layer": "反向传播, 逐层",
    "Summary": "总结",
    "autograd": "自动微分",
    "finite differences": "有限差分",
    "entries": "个元素",
    "of": "/",
    "entries at a kink (no derivative there), not compared": "个元素位于不可导点, 不比较",
    "largest difference": "最大差异",
    "δ at its output": "到达其输出的 δ",
    "largest disagreement among formula, autograd and finite differences": "公式、自动微分与有限差分之间的最大差异",
    "One gradient-descent step": "一步梯度下降",
    "shape": "形状",
    "first values": "前几个值",
    "mean": "均值",
    "summed over the batch": "对批次求和",
    "eval mode: dropout is the identity": "评估模式: dropout 是恒等映射",
    "p = 1 drops every unit": "p = 1 丢弃所有单元",
    "the mask: 1 = kept, 0 = dropped": "掩码: 1 = 保留, 0 = 丢弃",
    "only kept units pass δ back": "只有保留的单元把 δ 传回",
    "the gradient arriving at y": "到达 y 的梯度",
    "it moves every x of the channel alike": "它同样地移动该通道的每个 x",
    "the part along x̂": "沿 x̂ 的部分",
    "eval mode: the running statistics": "评估模式: 使用滑动统计量",
    "summed over the output channels": "对输出通道求和",
    "sample 0, output channel 0": "样本 0, 输出通道 0",
    "the kernel rotated by 180°": "旋转 180° 的卷积核",
    "the full convolution": "完全卷积",
    "output channel 0's share of ∂C/∂x[0, 0]": "输出通道 0 对 ∂C/∂x[0, 0] 的贡献",
    "each δ goes to its window's maximum": "每个 δ 流向其窗口的最大值处",
    "per channel": "每个通道",
    "routes of sample 0, channel 0": "样本 0、通道 0 的路由",
    "δ placed at each maximum, sample 0, channel 0": "δ 放在每个最大值处 (样本 0, 通道 0)",
    "routed to the maximum of its window (0 elsewhere)": "流向其窗口的最大值 (其余为 0)",
    "each window spreads": "每个窗口均匀分配",
    "over its pixels (overlaps add)": "到其像素 (重叠处相加)",
    "dilated by the stride": "按步长膨胀",
    "crop by the padding": "按填充裁剪",
    "reshaped back to": "变形回",
    "reshaped to": "变形为",
    "zeros between the taps": "抽头之间插零",
    "dilated by": "扩张",
    "cross-correlation": "互相关",
    "padded": "填充后",
    "window": "窗口",
    "where": "当",
    "else": "否则",
    "Step-through viewer of this graph": "此计算图的逐步查看器",
    "one row per sample": "每个样本一行",
    "windows": "个窗口",
    "y[c, p, q] = max of the window of x̃ at (p·u, q·v)": "y[c, p, q] = x̃ 在 (p·u, q·v) 处那个窗口内的最大值",
    "(⋆: cross-correlation, x̃: x padded)": "（⋆ 表示互相关，x̃ 是填充后的 x）",
    "zeros between entries": "个 0 插在相邻元素之间",
    "δ′ padded by R−1, S−1": "δ′ 四周补 R−1、S−1 圈 0",
    "stride": "步长",
    "padding": "填充",
    "The drawing: neurons coloured by value (sample 0), connections by ∂C/∂W, width by |W|": (
        "图: 神经元按取值着色 (样本 0), 连接按 ∂C/∂W 着色, 宽度按 |W|"
    ),
}


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``: Chinese replaces the known phrases, longest first."""
    if lang == "en" or not text:
        return text
    if lang != "zh":
        raise ValueError(f"explain: language must be 'en' or 'zh', got {lang!r}")
    for phrase in sorted(ZH, key=len, reverse=True):
        if len(phrase) > 3 or phrase == text:
            text = text.replace(phrase, ZH[phrase])
    return fullwidth(text)


def chinese_block(block: Block) -> Block:
    """A block's words with Chinese punctuation (its values untouched)."""
    return tuple(_chinese_marks(part) if isinstance(part, str) else part for part in block)


def _chinese_marks(text: str) -> str:
    text = fullwidth(text)
    if not re.search(f"[{_CJK}]", text):
        return text
    return re.sub(r";\s*", "；", re.sub(r"(?<![a-zA-Z0-9_)\]]): ", "：", text))


_CJK = "\u3400-\u9fff"


def fullwidth(text: str) -> str:
    """Chinese punctuation beside Chinese words: "，" "：" "；" where an ASCII one touches CJK."""
    for ascii_mark, wide in ((",", "，"), (":", "："), (";", "；")):
        text = re.sub(f"(?<=[{_CJK}]){re.escape(ascii_mark)} *", wide, text)
        text = re.sub(f"{re.escape(ascii_mark)} (?=[{_CJK}])", wide, text)
    return re.sub(f" ?\\(([^()]*[{_CJK}][^()]*)\\)", r"（\1）", text)


def shape_text(a: np.ndarray) -> str:
    return "×".join(map(str, a.shape)) if a.ndim else "scalar"


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
    first = ", ".join(f"{v:.4g}" for v in a.reshape(-1)[:6])
    t = lambda s: translate(s, lang)  # noqa: E731
    low, high = ("最小", "最大") if lang == "zh" else ("min", "max")
    return (
        f"[{t('shape')} {shape_text(a)}: ‖·‖ = {np.linalg.norm(a):.4g}, {t('mean')} {a.mean():.4g}, "
        f"{low} {a.min():.4g}, {high} {a.max():.4g}; {t('first values')} {first}, …]"
    )


def dashed(check: Check) -> str:
    """The finite differences, with — at a kink (no derivative there) and · where none was taken."""
    numeric = np.asarray(check.numeric, dtype=np.float64)
    kink = check.kink if check.kink is not None else np.zeros(numeric.shape, dtype=bool)
    marks = np.where(kink, "—", np.where(np.isnan(numeric), "·", ""))
    values = np.where(marks == "", np.char.mod("%.6g", np.nan_to_num(numeric) + 0.0), marks)
    return np.array2string(values, formatter={"all": str}, max_line_width=100)


def _agreement(check: Check, lang: str) -> list[tuple[str, str]]:
    t = lambda s: translate(s, lang)  # noqa: E731
    rows = []
    total = check.formula.size
    if total <= COLUMNS:
        rows.append((t("autograd"), value_text(check.autograd)))
        rows.append((t("finite differences"), dashed(check)))
    auto_gap = float(np.max(np.abs(check.formula - check.autograd), initial=0.0))
    taken = ~np.isnan(check.numeric)
    fd_gap = float(np.max(np.abs(check.formula - check.numeric)[taken], initial=0.0))
    rows.append(
        (
            "",
            f"{t('autograd')}: {t('largest difference')} {auto_gap:.1e};  {t('finite differences')} "
            f"({check.checked} {t('of')} {total} {t('entries')}): {t('largest difference')} {fd_gap:.1e}"
            + (f"; {check.kinks} {t('entries at a kink (no derivative there), not compared')}" if check.kinks else ""),
        )
    )
    if check.kinks and total <= COLUMNS:
        rows.append(("", catalogue("explain.kink", lang)))
    return rows


# ----- blocks -------------------------------------------------------------------------------
# ("section", title) | ("layer", title) | ("line", math, value) | ("check", label, value) | ("note", text)
Block = tuple


def blocks(e: Explanation, lang: str) -> list[Block]:
    t = lambda s: translate(s, lang)  # noqa: E731
    chain = " → ".join(
        f"[{s.index}] {s.label}"
        + (f" z{notes.sup(s.layer)}" if s.role == "z" else f" a{notes.sup(s.layer)}" if s.role == "a" else "")
        for s in e.steps
    )
    loss_words = (
        "cross-entropy of the softmax, mean over the batch"
        if e.loss_name == "cross_entropy"
        else "squared error, mean over all outputs"
    )
    mode = "training mode" if e.training else "evaluation mode"
    out: list[Block] = [
        ("section", f"{t('Network')}: {chain}"),
        ("note", f"{t('loss')}: {t(loss_words)}" + ("" if e.training is None else f"; {t(mode)}")),
        ("line", f"{t('Batch of N')} = {e.x.shape[0]}: x ({shape_text(e.x)})", e.x),
        ("line", f"{t('targets')} y ({shape_text(e.targets)})", e.targets),
        *notes.notation(lang),
        ("section", t("Forward pass")),
    ]
    for step in e.steps:
        out.append(("layer", notes.layer_title(step, lang)))
        for line in step.work.forward:
            out.append(("line", _math(line, lang), line.value, line.whole))
    loss_formula = "C = −(1/N) Σ_n log softmax(zᴸ_n)[y_n]" if e.loss_name == "cross_entropy" else "C = mean (aᴸ − y)²"
    out.append(("line", loss_formula, e.loss))
    out += notes.output_error(e, lang)
    out += [("check", *row) for row in _agreement(e.output_error, lang)]
    out += notes.recursion(e, lang)
    out.append(("section", t("Backward pass, layer by layer")))
    for step in reversed(e.steps):
        out.append(("layer", notes.layer_title(step, lang)))
        out.append(("line", f"{notes.delta_name(step)}   ({shape_text(step.delta)})", step.delta))
        for line in step.work.backward:
            out.append(("line", _math(line, lang), line.value, line.whole))
            if line.result is not None:
                out += [("check", *row) for row in _agreement(line.result, lang)]
    out += [
        ("section", t("Summary")),
        (
            "note",
            f"{t('largest disagreement among formula, autograd and finite differences')}: {e.max_discrepancy:.2e}",
        ),
        ("note", f"{t('One gradient-descent step')} θ := θ − {e.lr:g}·∇C:  C {e.loss:.9f} → {e.new_loss:.9f}"),
    ]
    return [chinese_block(b) for b in out] if lang == "zh" else out


def _math(line: Any, lang: str) -> str:
    text = translate(line.text, lang)
    return f"{text}   ({translate(line.note, lang)})" if line.note else text


# ----- formats ------------------------------------------------------------------------------
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
            colon = "：" if lang == "zh" else ": "
            lines.append(f"        {block[1] + colon if block[1] else ''}{block[2]}")
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
            lines.append(f"  - {block[1] + ': ' if block[1] else ''}`{block[2]}`")
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
            parts.append(f"<div class='check'>{esc(block[1] + ': ' if block[1] else '')}{esc(block[2])}</div>")
    t = lambda s: translate(s, lang)  # noqa: E731
    link = f"<p><a href='{esc(viewer)}'>{esc(t('Step-through viewer of this graph'))}</a></p>" if viewer else ""
    drawing = network_svg(e)
    caption = (
        f"<p>{esc(t('The drawing: neurons coloured by value (sample 0), connections by ∂C/∂W, width by |W|'))}</p>"
        if drawing
        else ""
    )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>bprop explain</title>"
        f"<style>{STYLE}</style></head><body><h1>{esc(catalogue('explain.title', lang))}</h1>{link}{drawing}{caption}"
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
                f"<title>w={w[j, i]:.4f} dC/dw={g[j, i]:.6f}</title></line>"
            )
    for k, layer in enumerate(pos):
        for i, (cx, cy) in enumerate(layer):
            v = float(columns[k][i])
            parts.append(
                f"<circle cx='{cx:.0f}' cy='{cy:.0f}' r='18' fill='{_colour(v, 1.0)}' stroke='black'>"
                f"<title>a={v:.6f}</title></circle><text x='{cx:.0f}' y='{cy + 4:.0f}' "
                f"text-anchor='middle'>{v:.3f}</text>"
            )
    return "".join(parts) + "</svg>"
