"""explain: the notes' formulas agree with autograd and finite differences, every number shown."""

import html.parser

import numpy as np
import pytest

from bprop.viz import build_network, explain, explain_conv


def test_the_classic_teaching_example():
    e = explain()
    assert e.loss == pytest.approx(0.298371109, abs=1e-9)
    assert e.grad_w[1][0, 0] == pytest.approx(0.082167041, abs=1e-9)  # ∂C/∂w5 of the classic example
    assert e.grad_w[0][0, 0] == pytest.approx(0.000438568, abs=1e-9)  # ∂C/∂w1
    assert e.max_discrepancy < 1e-8
    assert e.new_loss < e.loss


@pytest.mark.parametrize(
    "sizes,activation,loss",
    [
        ([3, 4, 2], "sigmoid", "mse"),
        ([2, 5, 3, 2], "tanh", "mse"),
        ([4, 3, 3], "relu", "cross_entropy"),
        ([3, 2], "identity", "mse"),
        ([2, 3, 4], "tanh", "cross_entropy"),
    ],
)
def test_formulas_match_autograd_and_finite_differences(sizes, activation, loss):
    rng = np.random.default_rng(1)
    y = np.eye(sizes[-1])[0] if loss == "cross_entropy" else rng.uniform(0, 1, sizes[-1])
    e = explain(build_network(sizes, activation, seed=2), rng.uniform(-1, 1, sizes[0]), y, loss=loss)
    for formula, auto, numeric in zip(e.grad_w + e.grad_b, e.autograd_w + e.autograd_b, e.numeric_w + e.numeric_b):
        np.testing.assert_allclose(formula, auto, atol=1e-12)
        np.testing.assert_allclose(formula, numeric, atol=1e-7)
    assert len(e.delta) == len(sizes) - 1 and e.delta[-1].shape == (sizes[-1],)


def test_output_formats():
    e = explain()
    text = e.to_text()
    assert "delta^1 = sigma'(z^1) * (W^2)^T delta^2" in text and "0.298371109" in text
    markdown = e.to_markdown()
    assert r"$$\delta^1 = \sigma'(z^1) \odot (W^2)^T \delta^2$$" in markdown
    page = e.to_html()
    parser = html.parser.HTMLParser()
    parser.feed(page)
    assert page.count("<circle") == 6 and page.count("<line") == 8 and "http" not in page


def test_bad_networks_are_explained():
    from bprop import nn

    with pytest.raises(ValueError, match="Sequential of Linear"):
        explain(nn.Sequential(nn.Linear(2, 2), nn.Dropout()), [0, 0], [0, 0])
    with pytest.raises(ValueError, match="takes 2 inputs"):
        explain(build_network([2, 2], "sigmoid"), [1, 2, 3], [0, 1])


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
