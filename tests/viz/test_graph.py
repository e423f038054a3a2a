"""draw_graph's DOT for a known small network, and rendering with or without Graphviz."""

import re
import shutil

import pytest

import bprop as bp
from bprop import nn
from bprop.viz import draw_graph, render


def small_net():
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    loss = nn.MSELoss()(model(bp.randn(4, 2)), bp.randn(4, 1))
    return model, loss


def test_nodes_and_edges_of_a_known_net():
    model, loss = small_net()
    dot = draw_graph(loss, dict(model.named_parameters()), show_values=True)
    ops = re.findall(r'label="(\w+)\\n', dot)
    assert sorted(ops) == ["Linear", "Linear", "MSE", "ReLU"]
    for name in ("0.weight (3, 2)", "0.bias (3,)", "2.weight (1, 3)", "2.bias (1,)", "input (4, 2)"):
        assert name in dot
    edges = re.findall(r"(\w+) -> (\w+);", dot)
    assert len(edges) == 3 + 3 + 1 + 2 + 1  # into Linear₁, Linear₂, ReLU, MSE, output
    assert dot.startswith("digraph bprop {") and dot.rstrip().endswith("}")


def test_gradients_are_shown_after_backward_with_retained_graph():
    model, loss = small_net()
    loss.backward(retain_graph=True)
    dot = draw_graph(loss, dict(model.named_parameters()), show_grads=True)
    assert dot.count("grad [") == 4  # all four parameters are small enough to list their gradients


def test_the_whole_graph_is_drawn_after_a_plain_backward():
    model, loss = small_net()
    params = dict(model.named_parameters())
    before = draw_graph(loss, params)
    loss.backward()  # no retain_graph: saved arrays are freed, the structure stays
    assert draw_graph(loss, params) == before
    assert draw_graph(loss, params, show_grads=True).count("grad [") == 4
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_render_without_graphviz_writes_the_dot_file(tmp_path, monkeypatch, capsys):
    _, loss = small_net()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    written = render(draw_graph(loss), tmp_path / "g.svg")
    assert written.suffix == ".dot" and written.read_text().startswith("digraph")
    assert "dot -Tsvg" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_svg_with_graphviz(tmp_path):
    _, loss = small_net()
    written = render(draw_graph(loss), tmp_path / "g.svg")
    assert written.suffix == ".svg" and "<svg" in written.read_text()
