"""What Jupyter shows for bprop's objects: each ``_repr_html_`` and plain ``__repr__``, read back."""

import html
import importlib.util
import re
import sys
import types
from html.parser import HTMLParser

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn
from bprop.autograd import ArrayFunction
from bprop.exercise import ExerciseError, check_backward
from bprop.train import fit, progress
from bprop.viz import DeltaRecorder, explain
from bprop.viz.notebook import InlinePage, line_chart, show, view_inline

VOID = {"meta", "br", "img", "input", "hr", "link", "circle", "rect", "polyline", "line", "path"}


class _Balance(HTMLParser):
    """Fails on a closing tag that does not match the open one (broken markup)."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def well_formed(markup: str) -> str:
    parser = _Balance()
    parser.feed(markup)
    assert parser.open == [], f"unclosed: {parser.open}"
    return markup


def _model() -> nn.Sequential:
    bp.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


def _batch() -> tuple[bp.Tensor, np.ndarray]:
    return bp.tensor(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)), np.array([0, 1, 2, 0, 1, 2])


def _srcdoc(markup: str) -> str:
    return html.unescape(re.search(r'srcdoc="([^"]*)"', markup).group(1))


def test_explain_shows_its_page_inline_and_its_text_as_repr():
    e = explain()
    assert repr(e) == e.to_text() and "0.298371109" in repr(e)
    markup = e._repr_html_()
    assert markup.startswith("<iframe") and "frameElement" in _srcdoc(markup)
    assert "0.298371109" in _srcdoc(markup)
    assert _srcdoc(show(e, lang="zh")._repr_html_()) == _srcdoc(InlinePage(e.to_html("zh"))._repr_html_())


def test_the_viewer_inline_is_the_viewer_page_and_leaves_the_same_grad(tmp_path):
    model, twin = _model(), _model()
    x, y = _batch()
    page = view_inline(F.cross_entropy(model(x), y), dict(model.named_parameters()))
    F.cross_entropy(twin(x), y).backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(np.asarray(p.grad), np.asarray(q.grad), rtol=1e-6)
    inner = _srcdoc(page._repr_html_())
    assert "const DATA" in inner and "https://" not in inner and "viewer" in repr(page)


def test_gradcheck_graph_table_names_the_wrong_op_in_red():
    class Doubled(ArrayFunction):  # a custom op whose backward is twice too large
        @staticmethod
        def forward(ctx, x):
            return x * 3.0

        @staticmethod
        def backward(ctx, g):
            return g * 6.0

    model = _model().to(np.float64)
    x, y = _batch()
    report = bp.gradcheck_graph(F.cross_entropy(Doubled.apply(model(x.double())), y))
    assert repr(report) == report.table()
    markup = well_formed(report._repr_html_())
    assert "WRONG" in markup and "#b3261e" in markup and "first wrong backward" in markup
    ok = well_formed(bp.gradcheck_graph(F.cross_entropy(model(x.double()), y))._repr_html_())
    assert "WRONG" not in ok and "every op&#x27;s backward agrees" in ok


def test_profile_summary_history_and_delta_recorder_render():
    model = _model()
    x, y = _batch()
    with bp.profile() as prof:
        F.cross_entropy(model(x), y).backward()
    assert repr(prof) == prof.table()
    assert "Linear" in well_formed(prof._repr_html_()) and "wall time" in prof._repr_html_()
    summary = model.summary((4,))
    assert isinstance(summary, str) and repr(summary) == str(summary) and "Total params: 43" in summary
    assert ">43<" not in summary._repr_html_() and "total parameters 43" in well_formed(summary._repr_html_())
    recorder = DeltaRecorder()
    history = fit(model, (np.asarray(x), y), epochs=3, batch_size=2, callbacks=[recorder], quiet=True)
    assert repr(history).startswith("History(3 epochs, 9 steps")
    chart = well_formed(history._repr_html_())
    assert chart.count("<svg") == 3 and "polyline" in chart and "training loss per step" in chart
    markup = well_formed(recorder._repr_html_())
    assert "gradients flow" in markup and "polyline" in markup and "0 (Linear)" in markup
    assert repr(recorder).splitlines()[0] == "DeltaRecorder: 2 layers, 9 steps"


def test_line_chart_keeps_to_what_it_can_plot():
    svg = well_formed(line_chart({"a": [1.0, 0.1, 0.01, float("nan"), 0.0]}, "t", "step", log=True))
    assert svg.count(",") == 3  # three finite positive points on a log scale
    assert "nothing to plot" in line_chart({"a": [float("nan")]}, "t", "step")


def test_an_exercise_answered_in_a_cell_is_graded(tmp_path):
    source = "def backward(dout, cache):\n    return dout * cache\n"
    (tmp_path / "answer.py").write_text(source)
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "answer.py"), "exec"), namespace)
    report = check_backward("sigmoid", namespace["backward"])
    assert not report.ok and repr(report) == report.format()
    markup = well_formed(report._repr_html_())
    assert "WRONG" in markup and "1 of 1 gradients wrong" in markup
    with pytest.raises(ExerciseError, match="unknown op 'sigmoidal'"):
        check_backward("sigmoidal", namespace["backward"])


def test_progress_uses_tqdm_notebook_form_in_jupyter(monkeypatch):
    pytest.importorskip("tqdm")
    assert not progress.in_notebook()
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert progress.in_notebook()
    bar = progress.Progress(3, 1, 1)  # stderr is no terminal here
    if importlib.util.find_spec("ipywidgets") is None:
        assert bar.bar is None  # a text bar's redraws would each stay in the notebook
    else:
        assert type(bar.bar).__module__ == "tqdm.notebook"
        bar.bar.close()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert progress.Progress(3, 1, 1, quiet=True).bar is None
