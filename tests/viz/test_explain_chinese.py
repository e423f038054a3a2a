"""Every explain mode in Chinese reads as Chinese: no English word left in a sentence, no ASCII
punctuation beside a Chinese character, aligned tables; the English output keeps its words."""

import re

import numpy as np
import pytest
from tests.helpers import CJK, CODE, english_left

import bprop as bp
from bprop import nn
from bprop.cli import main
from bprop.i18n import display_width, pad
from bprop.viz import explain
from bprop.viz.explain_layers import SUPPORTED


def _bn_dropout(training: bool) -> nn.Module:
    bp.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.4), nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 3)
    )
    return model.train(training)


def _cnn() -> nn.Module:
    bp.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.LeakyReLU(0.1),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 2, padding=1, dilation=2, groups=2),
        nn.GELU(),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Dropout(0.0),
        nn.Identity(),
        nn.Linear(4, 3),
    )


def _layer_norm() -> nn.Module:
    bp.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.Sigmoid(), nn.Linear(5, 3))


def _kinks() -> nn.Module:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)).to(np.float64)
    for p in model[0].parameters():
        p.data[...] = 0.0
    return model


def _batch(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=shape)


CE = "cross_entropy"
LIBRARY = {  # every layer kind, both modes of batch norm and dropout, a kink, both losses
    "bn+dropout, training": lambda: explain(_bn_dropout(True), _batch(4, 5), np.array([0, 1, 2, 0]), CE),
    "bn+dropout, eval": lambda: explain(_bn_dropout(False), _batch(4, 5), np.zeros((4, 3))),
    "cnn, every conv and pool": lambda: explain(_cnn(), _batch(2, 2, 9, 9), np.array([0, 2]), CE),
    "layer norm": lambda: explain(_layer_norm(), _batch(3, 4), np.array([0, 2, 1]), CE),
    "kinks": lambda: explain(_kinks(), np.array([[0.3, -0.2]]), np.array([[0.1, 0.4]])),
}
CLI = {
    "default": ["explain"],
    "dense relu, cross_entropy": ["explain", "--sizes", "3,4,2", "--activation", "relu", "--loss", "cross_entropy"],
    "dense tanh, mse": ["explain", "--sizes", "2,3,3,2", "--activation", "tanh"],
    "convnet": ["explain", "--model", "convnet", "--batch", "2"],
    "fcnet bn dropout": ["explain", "--model", "fcnet", "--batchnorm", "--dropout", "0.3", "--batch", "3"],
    "conv": ["explain", "--conv"],
    "conv stride 1, padding 0": [
        "explain",
        "--conv",
        *("--size", "6", "--kernel", "2", "--stride", "1", "--padding", "0"),
    ],
    "rnn": ["explain", "--rnn", "rnn", "--steps", "3"],
    "lstm": ["explain", "--rnn", "lstm", "--steps", "3"],
}


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize("mode", sorted(CLI))
def test_every_cli_mode_in_chinese_has_no_english_left(mode, fmt, capsys):
    assert main([*CLI[mode], "--lang", "zh", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert re.search(f"[{CJK}]", out)
    assert english_left(out) == []


@pytest.mark.parametrize("case", sorted(LIBRARY))
def test_every_layer_kind_in_chinese_has_no_english_left(case):
    e = LIBRARY[case]()
    for page in (e.to_text("zh"), e.to_markdown("zh"), e.to_html("zh", viewer="graph.html")):
        assert english_left(page) == []


def test_the_checker_catches_what_it_should():
    assert english_left("δ′ 填充后 by R−1") and english_left("（16 窗口s）") and english_left("最大差异, 0")
    assert english_left("样本 (第 0 个)") and not english_left("y = max(z, 0)；Linear(2→2) 的 W（2×2）")
    assert english_left("它的梯度 the end.") and {t.__name__ for t in SUPPORTED} <= CODE


def test_english_keeps_its_words():
    text = LIBRARY["cnn, every conv and pool"]().to_text()
    for words in ("routes of sample 0, channel 0", "crop by the padding a = 1, b = 1", "term 2: Σ g", "summed over"):
        assert words in text
    assert not re.search(f"[{CJK}]", text)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_notation_table_is_aligned_by_display_width(lang):
    text = explain().to_text(lang)
    head = "记号" if lang == "zh" else "Notation"
    table = [line for line in text[text.index(head) :].splitlines()[2:11]]
    bars = {tuple(i for i, _ in _columns(line)) for line in table}
    assert len(bars) == 1, "\n".join(table)  # every "|" (and "+") at the same display column


def _columns(line: str) -> list[tuple[int, str]]:
    """(display column, mark) of each column separator of a table line."""
    return [(display_width(line[: m.start() + 1]), m.group()) for m in re.finditer(r" \| |-\+-", line)]


def test_display_width_counts_wide_characters_twice():
    assert display_width("abc") == 3 and display_width("第 l 层") == 7 and display_width("（：）") == 6
    assert display_width("x̂") == 1 and pad("层", 4) == "层  " and display_width(pad("第 1 层", 9)) == 9
