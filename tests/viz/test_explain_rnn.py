"""`explain --rnn`: the three gradients agree, and the RNN's vanish where the LSTM's do not."""

import numpy as np
import pytest

from bprop.cli import main
from bprop.viz.explain_rnn import explain_rnn


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_formula_autograd_and_finite_differences_agree(kind):
    e = explain_rnn(kind, steps=6, seed=1)
    assert e.max_discrepancy < 1e-7
    np.testing.assert_allclose(e.formula_dx, e.autograd_dx, atol=1e-12)
    assert e.deltas.shape == (6, 3 if kind == "rnn" else 12)


def test_rnn_gradient_vanishes_going_back_and_the_lstm_keeps_it():
    e = explain_rnn("rnn", steps=30)
    rnn, lstm = e.norms["rnn"][1], e.norms["lstm"][1]  # ‖∂C/∂x_t‖ per step
    assert rnn[0] / rnn[-1] < 1e-8  # thirty Jacobians of the RNN: measured 5e-12
    assert lstm[0] / lstm[-1] > 1e-3  # the cell path with f ≈ 0.95: measured 4e-3
    assert np.all(lstm[:20] > 0.3 * lstm[20])  # and flat over the first twenty steps


def test_cli_prints_the_table_and_checks_its_options(capsys):
    assert main(["explain", "--rnn", "lstm", "--steps", "4"]) == 0
    text = capsys.readouterr().out
    assert "an LSTM (forget-gate bias 3)" in text and "largest disagreement" in text
    assert "RNN ‖δ_t‖" in text and text.count("\n") > 12
    assert main(["explain", "--rnn", "rnn", "--steps", "0"]) == 2
    assert "--steps must be an integer in [1, 100], got 0" in capsys.readouterr().err
