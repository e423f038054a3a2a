"""bp.viz.view: the same .grad as backward(), and a page that steps through the pass in Chromium."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.helpers import english_left

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


def _grid(page, selector: str) -> np.ndarray:
    """The numbers of the grid under ``selector``, row by row."""
    return np.array([float(v) for v in page.locator(f"{selector} td").all_text_contents()])


def _parameter_name(label: str) -> str:
    """ "γ (layers.1.weight)  (param, node 3)" → "layers.1.weight"; "w1  (param, …)" → "w1"."""
    head = label.rsplit("  (", 1)[0]
    return head[head.index("(") + 1 : -1] if head.startswith(("γ", "β")) else head


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
        name = _parameter_name(page.text_content("#node-label"))
        if name in grads and "backward" in page.text_content("#step-title"):
            assert page.locator(".edge.delta-flow").count() == 0  # a leaf passes δ nowhere
            shown = _grid(page, "#delta-values")
            np.testing.assert_allclose(shown, np.asarray(grads[name].grad).reshape(-1), rtol=1e-5, atol=1e-12)
            checked.add(name)
    assert checked == set(grads)
    page.click("#reset")
    while "backward" not in page.text_content("#step-title"):  # on to the first backward step, the loss's
        page.click("#next")
    assert "receives" in page.text_content("#inputs") and page.locator("#inputs table.grid").count() >= 1  # δ it sends
    page.click("#reset")
    assert page.get_attribute("#svg", "data-current") == ""
    assert errors == []


def test_delta_shows_only_once_backward_reached_the_node_and_roles_are_named(tmp_path, browser):
    model = _mlp()
    path = view(_loss(model, (4, 6)), dict(model.named_parameters()), tmp_path / "graph.html")
    data = json.loads(re.search(r"const DATA = (.*);\n", path.read_text()).group(1))
    labels = [n["label"] for n in data["nodes"]]
    assert any(label.startswith("γ (") for label in labels) and any(label.startswith("β (") for label in labels)
    docs = {n["label"]: n["doc"] for n in data["nodes"] if n["kind"] == "op"}
    assert "compact fused backward above" not in docs["BatchNormTrain"] and "∂C/∂γ = Σ δ ⊙ x̂" in docs["BatchNormTrain"]
    assert any("the labels y = [0 1 2 1]" in n["note"] for n in data["nodes"])
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.click("#next")  # forward, first op: no δ yet
    assert page.text_content("#delta-values") == "δ has not reached this node yet"
    assert page.locator("#value-values table.grid").count() == 1  # the value, as a grid


def test_a_bias_before_batch_norm_says_why_its_gradient_is_0(tmp_path):
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).to(np.float64)
    x = bp.tensor(np.random.default_rng(0).normal(size=(5, 3)))
    path = view(
        F.cross_entropy(model(x), np.array([0, 1, 0, 1, 1])), dict(model.named_parameters()), tmp_path / "g.html"
    )
    data = json.loads(re.search(r"const DATA = (.*);\n", path.read_text()).group(1))
    bias = next(n for n in data["nodes"] if n["label"] == "0.bias")
    assert "a constant added to a whole column is removed again" in bias["note"]


def test_the_page_in_chinese_in_chromium(tmp_path, browser):
    model = _mlp()
    path = view(_loss(model, (4, 6)), dict(model.named_parameters()), tmp_path / "zh.html", lang="zh")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    assert page.get_attribute("html", "lang") == "zh" and page.text_content("#next") == "下一步 ▶"
    assert page.text_content("#step-title").startswith("开始：共")
    page.click("#next")
    assert page.text_content("#step-title").startswith("第 1 步") and "前向" in page.text_content("#explain")
    assert page.text_content("#delta-values") == "δ 还没有传到这个节点" and errors == []
    total = int(re.search(r"共 (\d+) 步", page.text_content("#step-title")).group(1))
    ops = {n["label"] for n in json.loads(re.search(r"const DATA = (.*);\n", path.read_text()).group(1))["nodes"]}
    names = {w for name in ops | set(dict(model.named_parameters())) for w in re.findall(r"[A-Za-z]\w*", name)}
    seen = []
    for _ in range(total):  # every step, forward and backward: the formulas, δ, inputs, checks
        page.click("#next")
        seen.append(page.inner_text("#side"))
    assert "Σ over the batch" not in seen[0] and "（对这一批样本求和）" in "".join(seen)
    assert english_left("\n".join(seen), code=names) == []
    with pytest.raises(ValueError, match="language"):
        view(_loss(model, (4, 6)), {}, tmp_path / "fr.html", lang="fr")


def test_every_op_formula_is_written_in_both_languages():
    from bprop.i18n import text
    from bprop.i18n.viewer import FORMULAS
    from bprop.viz.viewer import _formula

    for op in FORMULAS:
        english, chinese = text(f"formula.{op}", "en"), text(f"formula.{op}", "zh")
        assert english.count("\n") == chinese.count("\n"), op  # the same lines, words translated
        assert english_left(chinese, code={"ln", "sign", "softplus", "index"}) == [], op
    no_formula = type("Unwritten", (), {"__doc__": "y = f(x)\n\nmore words"})
    assert _formula(no_formula, "en") == "y = f(x)" and _formula(no_formula, "zh").startswith("Unwritten：")
