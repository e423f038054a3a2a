"""bprop in a notebook: the HTML that Jupyter shows for bprop's objects.

Jupyter displays an object through its ``_repr_html_`` method. The classes that a learner meets
in a notebook — explain's result, ``gradcheck_graph``'s table, the profiler, a model summary,
the DeltaRecorder, fit's History and an exercise report — each have a two-line
``_repr_html_`` that calls the matching function here, so that all the markup lives in one
place and the classes stay free of it. Everything is self-contained: tables and inline SVG
charts, and whole pages (explain's page, the step-through viewer) in an ``<iframe srcdoc>``
that sizes itself to its content — no server, no file, nothing fetched.

``show(obj, lang)`` gives the same rendering in another language where there is one (explain);
``view_inline(loss, params)`` is ``bp.viz.view`` shown in the notebook instead of written to a file.
"""

from __future__ import annotations

import html
import math
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

STYLE = (
    "font-family:system-ui,-apple-system,'Segoe UI','Noto Sans','Noto Sans CJK SC',sans-serif;"
    "font-size:13px;line-height:1.45"
)
TABLE = "border-collapse:collapse;margin:4px 0;font-size:13px"
CELL = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:right;font-variant-numeric:tabular-nums"
HEAD = CELL + ";border-bottom:2px solid #888;font-weight:600"
OK, BAD = "#1b7f3b", "#b3261e"
COLOURS = ["#4a7ab8", "#d1603d", "#3a9e5f", "#8e5bb5", "#c8a02b", "#5a5a5a", "#2aa6b8", "#b8487a"]


class InlinePage:
    """A whole HTML page shown inside the notebook: an ``<iframe srcdoc>`` whose height follows
    its content (the page is same-origin with the notebook, so it can size its own frame)."""

    def __init__(self, page: str, title: str = "bprop", height: int = 480):
        self.page, self.title, self.height = page, title, height

    def _repr_html_(self) -> str:
        fit = (
            "<script>addEventListener('load',function(){var f=window.frameElement;"
            "if(f){f.style.height=(document.documentElement.scrollHeight+24)+'px';}});</script>"
        )
        page = self.page.replace("</body>", fit + "</body>") if "</body>" in self.page else self.page + fit
        return (
            f"<iframe title='{html.escape(self.title)}' srcdoc=\"{html.escape(page, quote=True)}\" "
            f"style='width:100%;height:{self.height}px;border:1px solid #ccc;border-radius:4px' "
            "loading='eager'></iframe>"
        )

    def __repr__(self) -> str:
        return f"<{self.title}: an HTML page of {len(self.page):,} characters; display it in a notebook>"


# ----- explain and the viewer -----------------------------------------------------------------
def explanation_html(explanation: Any, lang: str = "en") -> str:
    return InlinePage(explanation.to_html(lang), "bprop explain", 640)._repr_html_()


def view_inline(loss: Any, params: dict[str, Any] | None = None, lang: str = "en", height: int = 640) -> InlinePage:
    """``bp.viz.view`` shown in the notebook: runs ``loss.backward()`` (the same ``.grad``) and
    returns the step-through page inline (in ``lang``), its buttons working inside the notebook."""
    from bprop.viz.viewer import view

    with tempfile.TemporaryDirectory() as folder:
        path = view(loss, params, Path(folder) / "viewer.html", lang=lang)
        page = path.read_text(encoding="utf-8")
    return InlinePage(page, "bprop viewer", height)


def show(obj: Any, lang: str = "en") -> InlinePage | Html:
    """``obj`` as the notebook shows it, in ``lang`` ("en" or "zh") where the object has text in
    both (explain's page); other objects render as their ``_repr_html_``."""
    if hasattr(obj, "to_html") and hasattr(obj, "steps"):
        return InlinePage(obj.to_html(lang), "bprop explain", 640)
    return Html(obj._repr_html_())


class Html:
    """A fragment of HTML that the notebook displays as it is."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


# ----- tables ---------------------------------------------------------------------------------
def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], text: int | set[int] = 1, colours: Sequence[str] = ()
) -> str:
    """An HTML table: the columns in ``text`` (or the first ``text`` ones) align left, the rest
    right (numbers); ``colours`` colours whole rows."""
    left = set(range(text)) if isinstance(text, int) else text

    def cell(tag: str, i: int, value: Any, colour: str = "") -> str:
        style = (HEAD if tag == "th" else CELL) + (";text-align:left" if i in left else "")
        style += f";color:{colour}" if colour else ""
        return f"<{tag} style='{style}'>{html.escape(str(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v, colours[r] if r < len(colours) else "") for i, v in enumerate(row)) + "</tr>"
        for r, row in enumerate(rows)
    )
    return f"<table style='{TABLE}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _box(title: str, *parts: str) -> str:
    heading = f"<div style='font-weight:600;margin:2px 0'>{html.escape(title)}</div>"
    return f'<div style="{STYLE}">{heading}{"".join(parts)}</div>'


def _line(text: str, colour: str = "") -> str:
    style = f" style='color:{colour}'" if colour else ""
    return f"<div{style}>{html.escape(text)}</div>"


def graph_check_html(check: Any) -> str:
    rows, colours = [], []
    for row in check.rows:
        shapes = " ".join(_shape(s) for s in row.input_shapes) + " → " + _shape(row.output_shape)
        rows.append(
            [row.index, row.op, shapes, f"{row.max_rel_error:.2e}", row.kinks or "-", "ok" if row.ok else "WRONG"]
        )
        colours.append("" if row.ok else BAD)
    bad = check.first_bad
    verdict = (
        _line("every op's backward agrees with finite differences", OK)
        if bad is None
        else _line(f"first wrong backward: op {bad.index} ({bad.op}), relative error {bad.max_rel_error:.2e}", BAD)
    )
    header = ["#", "op", "shapes", "max rel. error", "kink", "verdict"]
    return _box(
        "gradcheck_graph: every op's backward alone vs finite differences", _table(header, rows, 3, colours), verdict
    )


def _shape(shape: Sequence[int]) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def profile_html(prof: Any) -> str:
    stats = sorted(prof.stats.values(), key=lambda s: s.total_seconds, reverse=True)
    in_ops = sum(s.total_seconds for s in stats)
    header = ["op", "fwd calls", "fwd ms", "bwd calls", "bwd ms", "total ms", "%", "MB alloc", "peak MB"]
    rows = [
        [
            s.name,
            s.forward_calls,
            f"{s.forward_seconds * 1e3:.2f}",
            s.backward_calls,
            f"{s.backward_seconds * 1e3:.2f}",
            f"{s.total_seconds * 1e3:.2f}",
            f"{100 * s.total_seconds / max(in_ops, 1e-12):.1f}",
            f"{s.bytes_allocated / 2**20:.1f}",
            f"{s.peak_bytes / 2**20:.2f}",
        ]
        for s in stats
    ]
    share = 100 * in_ops / prof.wall_seconds if prof.wall_seconds else 0.0
    foot = _line(f"time in ops {in_ops * 1e3:.1f} ms of {prof.wall_seconds * 1e3:.1f} ms wall time ({share:.0f}%)")
    return _box("bp.profile: time and memory per op, slowest first", _table(header, rows), foot)


def summary_html(summary: Any) -> str:
    rows = [[name, shape, f"{count:,}"] for name, shape, count in summary.rows]
    foot = _line(f"total parameters {summary.total:,}, trainable {summary.trainable:,}")
    return _box(f"Model: {summary.model_name}", _table(["layer (type)", "output shape", "parameters"], rows, 2), foot)


def report_html(report: Any) -> str:
    """An exercise report: one row per gradient, the diagnosis under a wrong one."""
    shapes = "; ".join(
        ", ".join(f"{k} {v.shape}" if isinstance(v, np.ndarray) else f"{k} {v}" for k, v in case.inputs.items())
        for case in report.cases
    )
    title = f"{Path(report.path).name}: {report.exercise.title()}"
    if report.problem:
        return _box(title, _line(f"inputs {shapes}"), _line(report.problem.render(), BAD))
    rows, colours = [], []
    for r in report.results:
        numeric = "— (kinks)" if r.error_vs_numeric is None else f"{r.error_vs_numeric:.1e}"
        versus = ["shape differs", ""] if r.error_vs_bprop is None else [f"{r.error_vs_bprop:.1e}", numeric]
        diagnosis = f"case {r.case}: {r.diagnosis.render()}" if r.diagnosis is not None else ""
        rows.append([r.name, "ok" if r.ok else "WRONG", *versus, diagnosis])
        colours.append(OK if r.ok else BAD)
    wrong = sum(not r.ok for r in report.results)
    verdict = (
        _line(f"all {len(rows)} gradients right", OK)
        if not wrong
        else _line(f"{wrong} of {len(rows)} gradients wrong", BAD)
    )
    header = ["gradient", "verdict", "rel. error vs bprop", "vs finite differences", "what is off"]
    return _box(title, _line(f"inputs {shapes}"), _table(header, rows, {0, 1, 4}, colours), verdict)


# ----- charts ---------------------------------------------------------------------------------
def line_chart(
    series: dict[str, Sequence[float]], title: str, xlabel: str, log: bool = False, width: int = 420, height: int = 220
) -> str:
    """An inline SVG chart of one or more series against their index (1, 2, …); ``log`` plots
    log10 of the values. Non-finite and (on a log scale) non-positive values are left out."""
    left, right, top, bottom = 52, 10, 22, 34
    points = {
        name: [(i + 1, float(v)) for i, v in enumerate(values) if np.isfinite(v) and (v > 0 or not log)]
        for name, values in series.items()
    }
    ys = [math.log10(v) if log else v for pts in points.values() for _, v in pts]
    xs = [x for pts in points.values() for x, _ in pts]
    if not ys:
        return _line(f"{title}: nothing to plot yet")
    y0, y1 = min(ys), max(ys)
    y0, y1 = (y0 - 0.5, y1 + 0.5) if y1 - y0 < 1e-12 else (y0, y1)
    x0, x1 = 1, max(max(xs), 2)

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    def tick(y: float) -> str:
        return f"{10**y:.3g}" if log else f"{y:.4g}"

    heading = title + (" (log scale)" if log else "")
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{html.escape(title)}' style='font:11px sans-serif;background:#fff'>",
        f"<text x='{left}' y='14' style='font-weight:600'>{html.escape(heading)}</text>",
        f"<rect x='{left}' y='{top}' width='{width - left - right}' height='{height - top - bottom}' "
        "fill='none' stroke='#bbb'/>",
    ]
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f"<text x='{left - 4}' y='{sy(y) + 4:.1f}' text-anchor='end' fill='#555'>{tick(y)}</text>")
    for x in (x0, x1):
        parts.append(f"<text x='{sx(x):.1f}' y='{height - bottom + 14}' text-anchor='middle' fill='#555'>{x}</text>")
    parts.append(
        f"<text x='{(left + width - right) / 2}' y='{height - 4}' text-anchor='middle' fill='#555'>"
        f"{html.escape(xlabel)}</text>"
    )
    for k, pts in enumerate(points.values()):
        colour = COLOURS[k % len(COLOURS)]
        coords = " ".join(f"{sx(x):.1f},{sy(math.log10(v) if log else v):.1f}" for x, v in pts)
        if len(pts) == 1:
            x, v = pts[0]
            parts.append(f"<circle cx='{sx(x):.1f}' cy='{sy(math.log10(v) if log else v):.1f}' r='3' fill='{colour}'/>")
        else:
            parts.append(f"<polyline points='{coords}' fill='none' stroke='{colour}' stroke-width='1.6'/>")
    parts.append("</svg>")
    legend = "".join(
        f"<span style='color:{COLOURS[k % len(COLOURS)]};margin-right:12px'>━ {html.escape(name)}</span>"
        for k, name in enumerate(points)
    )
    return f"<div style='display:inline-block;max-width:{width}px;font-size:11px'>{''.join(parts)}<br>{legend}</div>"


def history_html(history: Any) -> str:
    """fit's History: the loss per step, and the per-epoch metrics, as small inline charts."""
    charts = []
    step_losses = [s["loss"] for s in history.steps if "loss" in s]
    if step_losses:
        charts.append(line_chart({"loss": step_losses}, "training loss per step", "step", log=min(step_losses) > 0))
    keys = sorted({k for e in history.epochs for k in e if k != "epoch"})
    for group in (["loss", "val_loss"], [k for k in keys if "acc" in k]):
        shown = {k: history[k] for k in group if k in keys}
        if shown and max(len(v) for v in shown.values()) >= 1:
            charts.append(line_chart(shown, " and ".join(shown) + " per epoch", "epoch"))
    last = history.last
    summary = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in last.items())
    lines = [_line(f"{len(history.epochs)} epochs, {len(history.steps)} steps; last epoch: {summary}")]
    if history.stop_reason:
        lines.append(_line(f"stopped: {history.stop_reason}"))
    return _box(
        "fit: training history",
        *lines,
        "<div style='display:flex;flex-wrap:wrap;gap:8px'>" + "".join(charts) + "</div>",
    )


def delta_recorder_html(recorder: Any) -> str:
    """The DeltaRecorder: its verdicts in words, the mean ‖δ‖ per layer, and ‖δ‖ over the steps."""
    means = recorder.mean_norms()
    verdicts = recorder.verdicts()
    lines = [_line(v, BAD if v.startswith(("vanishing", "exploding", "dead")) else OK) for v in verdicts] or [
        _line("no δ recorded yet: pass the recorder to fit(callbacks=[…])")
    ]
    table = _table(["layer (input → output)", "mean ‖δ‖ (last 50 steps)"], [[k, f"{v:.3g}"] for k, v in means.items()])
    chart = line_chart({k: recorder.norms[k] for k in means}, "‖δ‖ at each layer's output", "step", log=True, width=520)
    return _box("DeltaRecorder: δ per layer", *lines, table if means else "", chart if means else "")
