"""The en/zh catalogue: every text in both languages, the Chinese written with Chinese punctuation."""

import re
import string

import pytest

from bprop.cli import main
from bprop.i18n import CATALOGUE, LANGUAGES, Msg, check_lang, msg, text

CJK = "\u3400-\u9fff"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_text_has_both_languages_with_the_same_placeholders(key):
    english, chinese = CATALOGUE[key]
    assert isinstance(english, str) and isinstance(chinese, str)
    if english:
        assert chinese, f"{key}: no Chinese text"
    assert placeholders(english) == placeholders(chinese), key


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_chinese_uses_chinese_punctuation(key):
    prose = re.sub(r"`[^`]*`|\{[^}]*\}", "", CATALOGUE[key][1])  # code and placeholders keep ASCII
    assert not re.search(f"[{CJK}][,;:!?]|[,;:!?] ?[{CJK}]", prose), f"{key}: {CATALOGUE[key][1]}"
    assert not re.search(f"\\([^()]*[{CJK}][^()]*\\)", prose), f"{key}: Chinese in ASCII parentheses"


def test_a_missing_text_or_language_fails_loudly():
    with pytest.raises(KeyError, match="no text 'nope'"):
        msg("nope")
    with pytest.raises(ValueError, match="language 'fr' is not available; choose one of en, zh"):
        check_lang("fr")
    assert LANGUAGES == ("en", "zh")
    nested = Msg("d.missing_sum", {"where": msg("d.where_batch"), "shapes": "s"})
    assert "批（第 0 轴）" in nested.render("zh") and "the batch (axis 0)" in nested.render("en")
    assert text("report.all_right", "zh", total=3) == "3 个梯度全对。"


@pytest.mark.parametrize(
    "argv,words",
    [
        (["explain", "--lang", "zh"], "输出层误差 δᴸ = ∂C/∂zᴸ（笔记 000）"),
        (["explain", "--conv", "--lang", "zh"], "δ′：把 δ 按步长膨胀"),
        (["explain", "--rnn", "rnn", "--steps", "3", "--lang", "zh"], "随时间反向传播：RNN（tanh）"),
        (["explain", "--conv", "--lang", "zh", "--format", "html"], "<h1>卷积层的反向传播</h1>"),
    ],
)
def test_every_explain_mode_speaks_chinese(argv, words, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert words in out
