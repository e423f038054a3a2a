"""bp.viz.view: the same .grad as backward(), and a page that steps through the pass in Chromium."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn
from bprop.viz import view

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _mlp() -> nn.Module:
    bp.manual_seed(0)
    return nn.models.FullyConnectedNet(6, [5, 4], 3, normalization="batchnorm", dropout=0.2, dtype=np.float64)


def _cnn() -> nn.Module:
    bp.manual_seed(0)
    return nn.models.ThreeLayerConvNet(
        (2, 6, 6), num_filters=3, filter_size=3, hidden_dim=5, num_classes=3, weight_scale=0.3, dtype=np.float64
    )


def _loss(model: nn.Module, shape: tuple[int, ...]) -> bp.Tensor:
    bp.manual_seed(1)  # the same dropout mask for the viewer and for plain backward()
    x = bp.tensor(np.random.default_rng(0).normal(size=shape))
    return F.cross_entropy(model(x), np.array([0, 1, 2, 1]))


@pytest.mark.parametrize("build,shape", [(_mlp, (4, 6)), (_cnn, (4, 2, 6, 6))])
def test_view_leaves_the_same_grad_as_backward(tmp_path, build, shape):
    model, twin = build(), build()
    view(_loss(model, shape), dict(model.named_parameters()), tmp_path / "graph.html")
    _loss(twin, shape).backward()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15, err_msg=name)
    page = (tmp_path / "graph.html").read_text()
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    data = json.loads(re.search(r"const DATA = (.*);\n", page).group(1))
    ops = [n["label"] for n in data["nodes"] if n["kind"] == "op"]
    assert ops[-1] == "CrossEntropy" and all(
        n["check"].startswith("backward agrees") for n in data["nodes"] if n["check"]
    )


def test_view_refuses_what_it_cannot_show(tmp_path):
    with pytest.raises(ValueError, match="no graph"):
        view(bp.tensor(1.0), {}, tmp_path / "x.html")
    loss = _loss(_mlp(), (4, 6))
    loss.backward()
    with pytest.raises(ValueError, match="freed"):
        view(loss, {}, tmp_path / "x.html")


@pytest.fixture(scope="module")
def browser():
    sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed")
    with sync.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), args=ARGS
        )
        yield b
        b.close()


def _numbers(text: str) -> np.ndarray:
    body = text.split("\n", 1)[1]  # the first line is the summary
    return np.array([float(v) for v in body.split()])


def test_the_page_steps_through_the_pass_in_chromium(tmp_path, browser):
    model = _mlp()
    path = view(_loss(model, (4, 6)), dict(model.named_parameters()), tmp_path / "graph.html")
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    assert page.locator(".node").count() > 10
    seen = []
    for _ in range(4):
        page.click("#next")
        seen.append(page.get_attribute("#svg", "data-current"))
        assert page.locator(".node.current").count() == 1
    assert len(set(seen)) == 4  # each step highlights another node
    grads = dict(model.named_parameters())
    checked = set()
    total = int(re.search(r"of (\d+)", page.text_content("#step-title")).group(1))
    for _ in range(total):  # on to the end, where δ has reached the parameters
        page.click("#next")
        name = page.text_content("#node-label").split()[0]
        if name in grads and "backward" in page.text_content("#step-title"):
            assert page.locator(".edge.delta-flow").count() == 0  # a leaf passes δ nowhere
            shown = _numbers(page.text_content("#delta-values"))
            np.testing.assert_allclose(shown, grads[name].grad.reshape(-1), rtol=1e-5, atol=1e-12)
            checked.add(name)
    assert checked == set(grads)
    page.click("#reset")
    assert page.get_attribute("#svg", "data-current") == ""
    assert errors == []
