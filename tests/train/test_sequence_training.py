"""Training on sequences, slow: the adding problem (a plain RNN stays at chance where an LSTM
learns), a character-level LSTM on the tang300 poems, sequential MNIST."""

import json
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim
from bprop.cli import main
from bprop.data.datasets.adding import CHANCE_MSE, adding_problem

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TANG300 = SHARED / "tang300" / "tang300"


def train_adding(mode: str, length: int, steps: int, seed: int = 0) -> float:
    """Test MSE of a 64-unit ``mode`` net after ``steps`` Adam steps (batch 64, clipped to norm 1)."""
    bp.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnn, head = getattr(nn, mode)(2, 64, batch_first=True), nn.Linear(64, 1)
    params = [*rnn.parameters(), *head.parameters()]
    opt = optim.Adam(params, lr=1e-3)

    def predict(x):
        out, _ = rnn(bp.tensor(x))
        return head(out[:, -1]).reshape(-1)

    for _ in range(steps):
        x, y = adding_problem(64, length, rng)
        opt.zero_grad()
        ((predict(x) - bp.tensor(y)) ** 2).mean().backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    x, y = adding_problem(1000, length, np.random.default_rng(seed + 1))
    with bp.no_grad():
        return float(((predict(x).data - y) ** 2).mean())


@pytest.mark.slow
def test_adding_problem_at_length_50_rnn_at_chance_lstm_learns():
    rnn, lstm = train_adding("RNN", 50, 2000), train_adding("LSTM", 50, 2000)
    assert rnn > 0.9 * CHANCE_MSE  # measured 0.166 (chance 0.167)
    assert lstm < 0.3 * CHANCE_MSE  # measured 0.033


@pytest.mark.slow
@pytest.mark.skipif(not TANG300.is_file(), reason="../shared/data is absent")
def test_char_lstm_on_tang300_beats_uniform_and_writes_poem_lines(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", f"text:{TANG300}", "--epochs", "10", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_bits_per_char"] < 8.0  # uniform over 2,579 characters: 11.3 bits
    capsys.readouterr()
    assert main(["sample", str(out / "best.npz"), "--prompt", "《春", "--length", "60"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("《春") and "\n" in text and "，" in text + "。"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is absent")
def test_sequential_mnist_lstm_learns_in_one_epoch(tmp_path):
    out = tmp_path / "run"
    flags = ["--data", "mnist", "--data-dir", str(SHARED), "--model", "lstm", "--epochs", "1", "--threads", "1"]
    assert main(["train", *flags, "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] > 0.95  # measured 96.4%
