"""explain: each layer's formula agrees with autograd and finite differences, every number shown."""

import html.parser

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.viz import build_network, explain, explain_conv


def test_the_classic_teaching_example():
    e = explain()
    assert e.loss == pytest.approx(0.298371109, abs=1e-9)
    assert e.gradient(3)[0, 0] == pytest.approx(0.082167041, abs=1e-9)  # ∂C/∂w5 of the classic example
    assert e.gradient(1)[0, 0] == pytest.approx(0.000438568, abs=1e-9)  # ∂C/∂w1
    assert e.max_discrepancy < 1e-8
    assert e.new_loss < e.loss


@pytest.mark.parametrize(
    "sizes,activation,loss",
    [
        ([3, 4, 2], "sigmoid", "mse"),
        ([2, 5, 3, 2], "tanh", "mse"),
        ([4, 3, 3], "relu", "cross_entropy"),
        ([3, 2], "identity", "mse"),
    ],
)
def test_dense_chains_on_one_sample(sizes, activation, loss):
    rng = np.random.default_rng(1)
    y = np.eye(sizes[-1])[0] if loss == "cross_entropy" else rng.uniform(0, 1, sizes[-1])
    e = explain(build_network(sizes, activation, seed=2), rng.uniform(-1, 1, sizes[0]), y, loss=loss)
    assert e.max_discrepancy < 1e-7
    assert len(e.steps) == 2 * (len(sizes) - 1) and e.output_error.formula.shape == (1, sizes[-1])


def _mlp_with_bn_and_dropout() -> nn.Sequential:
    bp.manual_seed(3)
    return nn.Sequential(
        nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.4), nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 3)
    )


def test_mlp_with_batchnorm_and_dropout_on_a_batch():
    model = _mlp_with_bn_and_dropout()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    x = np.random.default_rng(0).normal(size=(6, 5))
    e = explain(model, x, np.array([0, 1, 2, 0, 1, 2]), loss="cross_entropy")
    assert e.max_discrepancy < 1e-6
    assert all(c.checked > 0 for c in e.checks)
    bn_lines = [line.text for line in e.steps[1].work.forward + e.steps[1].work.backward]
    assert any(t.startswith("μ") for t in bn_lines) and "∂C/∂γ = Σ g·x̂" in bn_lines and "∂C/∂β = Σ g" in bn_lines
    mask = e.steps[3].work.forward[0].value
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(e.steps[3].output, e.steps[3].input * mask / 0.6)
    for k, v in model.state_dict().items():  # the caller's model is left as it was
        np.testing.assert_array_equal(v, before[k])
    assert e.new_loss < e.loss


def test_cnn_with_several_channels_and_both_pools():
    bp.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 2, padding=1, dilation=2, groups=2),
        nn.Tanh(),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(4, 3),
    )
    x = np.random.default_rng(0).normal(size=(3, 2, 9, 9))
    e = explain(model, x, np.array([0, 1, 2]), loss="cross_entropy")
    assert e.max_discrepancy < 1e-6
    text = e.to_text()
    for phrase in ("rot180(k[0, 0])", "δ′ = δ dilated by the stride", "δ[0,0]→x[", "x̂ = (x − μ)", "term 3"):
        assert phrase in text
    mse = explain(model, x, np.zeros((3, 3)), loss="mse")
    assert mse.max_discrepancy < 1e-6


def test_lenet5_is_explained_and_summarised():
    bp.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(2, 1, 28, 28))
    e = explain(nn.models.LeNet5(), x, np.array([3, 7]), loss="cross_entropy", fd_entries=4)
    assert e.max_discrepancy < 1e-6
    text = e.to_text()
    assert "shape 2×6×28×28" in text and max(len(line) for line in text.splitlines()) < 400


def test_output_formats_and_languages():
    e = explain(
        _mlp_with_bn_and_dropout(),
        np.random.default_rng(0).normal(size=(4, 5)),
        np.array([0, 1, 2, 0]),
        "cross_entropy",
    )
    assert "Backward pass, layer by layer" in e.to_text() and "反向传播" in e.to_text(lang="zh")
    assert "### Forward pass" in e.to_markdown() and "```" in e.to_markdown()
    page = e.to_html(viewer="graph.html")
    html.parser.HTMLParser().feed(page)
    assert "href='graph.html'" in page and "http" not in page
    with pytest.raises(ValueError, match="language"):
        e.to_text(lang="fr")


def test_small_dense_nets_are_drawn():
    page = explain().to_html()
    assert page.count("<circle") == 6 and page.count("<line") == 8


def test_bad_networks_are_explained():
    with pytest.raises(ValueError, match="cannot explain layer Softmax"):
        explain(nn.Sequential(nn.Linear(2, 2), nn.Softmax(1)), [0, 0], [0, 0])
    with pytest.raises(ValueError, match="does not fit"):
        explain(build_network([2, 2], "sigmoid"), [1, 2, 3], [0, 1])
    with pytest.raises(ValueError, match="class labels"):
        explain(build_network([2, 2], "sigmoid"), [[1, 2]], np.array([5]), loss="cross_entropy")


@pytest.mark.parametrize(
    "size,kernel,stride,padding",
    [((5, 5), (3, 3), (2, 2), (1, 1)), ((6, 7), (2, 3), (1, 2), (0, 1)), ((7, 6), (3, 2), (3, 1), (2, 0))],
)
def test_conv_explanation(size, kernel, stride, padding):
    e = explain_conv(size, kernel, stride, padding, seed=3)
    scale = 1 + np.abs(e.grad_x).max() + np.abs(e.grad_kernel).max()
    assert e.max_discrepancy < 1e-6 * scale
    np.testing.assert_allclose(e.grad_x, e.autograd_x, atol=1e-10)
    assert e.grad_bias == pytest.approx(e.delta.sum())
    assert "rotated by 180°" in e.to_text() and "bmatrix" in e.to_markdown()
