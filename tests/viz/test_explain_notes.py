"""explain speaks note 000: δˡ = ∂C/∂zˡ, the recursion on one line, the bridge, the notation table."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.cli import main
from bprop.viz import build_network, explain


def test_the_output_error_is_the_notes_last_delta():
    e = explain()
    np.testing.assert_allclose(e.output_error.formula, [[0.138499, -0.038098]], atol=5e-7)
    np.testing.assert_allclose(e.output_grad, [[0.741365, -0.217072]], atol=5e-7)  # ∂C/∂aᴸ, not δᴸ
    assert e.depth == 2 and [(s.layer, s.role) for s in e.steps] == [(1, "z"), (1, "a"), (2, "z"), (2, "a")]
    text = e.to_text()
    assert "Output error δᴸ = ∂C/∂zᴸ (note 000)" in text
    assert "δᴸ = σ′(zᴸ) ⊙ ∂C/∂aᴸ = [0.186816, 0.17551 ] ⊙ [ 0.741365, -0.217072]" in text


def test_the_recursion_is_one_line_evaluated_and_agrees_with_autograd():
    e = explain()
    line = next(line for line in e.to_text().splitlines() if line.strip().startswith("δ¹ = σ′(z¹) ⊙ (W²)ᵀ δ²"))
    assert "[0.241301, 0.240613] ⊙ [0.03635, 0.04137] = [[0.008771 0.009954]]" in line
    np.testing.assert_allclose(e.steps[0].delta, [[0.00877135, 0.00995425]], atol=1e-8)


def test_the_notation_table_and_the_bridge_lead_the_text():
    text = explain().to_text()
    table = text.index("Notation: the notes ↔ this page ↔ torch")
    assert table < text.index("Forward pass")
    for cell in ("δˡ = ∂C/∂zˡ", "z.retain_grad(); z.grad", "zˡ = Wˡ aˡ⁻¹ + bˡ", "linear.weight.grad"):
        assert cell in text[table:]
    assert "From δ to the weights: ∂C/∂w_ij = δ_i a_j" in text and "∂C/∂W² = (Δ²)ᵀ A¹" in text


def test_a_deeper_batch_has_one_recursion_line_per_hidden_layer():
    rng = np.random.default_rng(0)
    e = explain(build_network([3, 4, 4, 2], "tanh", seed=1), rng.normal(size=(5, 3)), rng.uniform(size=(5, 2)))
    text = e.to_text()
    assert "δ²" in text and "δ¹ = σ′(z¹) ⊙ (W²)ᵀ δ²" in text and "δ² = σ′(z²) ⊙ (W³)ᵀ δ³" in text
    assert e.max_discrepancy < 1e-7


def test_kinks_are_dashes_never_a_finite_difference_of_zero():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)).to(np.float64)
    for p in model[0].parameters():
        p.data[...] = 0.0  # z¹ = 0 exactly: ReLU's kink for every entry
    e = explain(model, np.array([[0.3, -0.2]]), np.array([[0.1, 0.4]]))
    text = e.to_text()
    assert "finite differences: [— —]" in text and "finite differences: [0. 0.]" not in text
    assert "— marks an entry at a kink" in text


def test_cross_entropy_puts_softmax_on_the_last_z(capsys):
    assert main(["explain", "--sizes", "2,3,2", "--loss", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "The last layer's activation is the softmax" in out and "δᴸ = ∂C/∂zᴸ = (softmax(zᴸ) − y)/N" in out
    network = out.splitlines()[0]
    assert network.endswith("Linear(3→2) z²"), network


def test_layer_norm_is_explained():
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.ReLU(), nn.Linear(5, 3)).to(np.float64)
    e = explain(model, np.random.default_rng(0).normal(size=(3, 4)), np.array([0, 2, 1]), loss="cross_entropy")
    assert e.max_discrepancy < 1e-6 and "LayerNorm(5)" in e.to_text()


def test_the_conv_todo_tensors_print_whole_up_to_16_by_16():
    bp.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(36, 2)).to(np.float64)
    e = explain(model, np.random.default_rng(0).normal(size=(1, 1, 12, 12)), np.array([1]), loss="cross_entropy")
    text = e.to_text()
    crop = text[text.index("crop by the padding") :]
    assert "shape 12×12" not in crop.split("\n\n")[0] and crop.count("\n") > 12  # the 12×12 crop, whole
    assert "<details>" in e.to_html()  # the summarised tensors open in the page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_both_languages_have_the_new_sections(lang):
    text = explain().to_text(lang)
    words = {"en": ("Notation", "The recursion"), "zh": ("记号：笔记 ↔ 本页 ↔ torch", "递推式")}[lang]
    assert all(w in text for w in words)


def test_the_notes_letters_sigma_prime_of_z_and_d_for_the_dropout_mask():
    text = explain().to_text()
    assert "σ′(z) = σ(z)(1 − σ(z))" in text and "σ′(x)" not in text
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    e = explain(model, np.random.default_rng(0).normal(size=(4, 3)), np.array([0, 1, 1, 0]), loss="cross_entropy")
    dropout = e.steps[2].work
    assert dropout.forward[0].text == "D" and "D/(1 − p)" in dropout.backward[0].text  # m: batch norm, r: sample
    assert "μ = (1/m) Σ x   (per channel, m = N = 4)" in e.to_text()


def test_convnet_bias_at_a_kink_shows_dashes_not_zero_differences(capsys):
    assert main(["explain", "--model", "convnet", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "finite differences: [0. 0. 0. 0.]" not in out and "entries at a kink" in out


def test_finite_differences_print_with_the_same_decimals_as_autograd():
    """A learner compares the two lines digit by digit: six decimals at most in both, not six
    significant digits in one (−0.0380982 beside −0.038098)."""
    from types import SimpleNamespace

    from bprop.viz.explain_render import dashed

    check = SimpleNamespace(numeric=np.array([[0.138499, -0.03809824, 2e-9, np.nan]]), kink=None)
    assert dashed(check) == "[[0.138499 -0.038098 0 ·]]"
