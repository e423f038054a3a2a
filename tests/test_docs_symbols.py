"""One meaning per symbol across the three derivation pages (docs/*-backprop.md): the symbols
their notation tables declare never mean two things, and the clashes renamed away stay gone."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("cnn-backprop.md", "rnn-backprop.md", "attention-backprop.md")
# symbols two pages share, and a word each of their meanings must contain
SHARED = {"x": "input", "z": "activation", "δ": "∂C/∂z"}


def notation(page: str) -> dict[str, str]:
    """symbol → meaning from the page's first "| symbol |" table ("x[c, h, w]" and "x_t" are x)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    table = text[text.index("| symbol |") :].split("\n\n")[0].splitlines()[2:]
    symbols = {}
    for row in table:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for part in re.sub(r"\[[^\]]*\]", "", cells[0]).split(","):
            symbol = re.split(r"[\s_=]", part.strip())[0]
            assert symbols.get(symbol, cells[-1]) == cells[-1], f"{page}: {symbol} declared twice"
            symbols[symbol] = cells[-1]
    return symbols


def test_no_symbol_means_two_things_across_the_pages():
    tables = {page: notation(page) for page in PAGES}
    seen: dict[str, list[tuple[str, str]]] = {}
    for page, symbols in tables.items():
        for symbol, meaning in symbols.items():
            seen.setdefault(symbol, []).append((page, meaning))
    for symbol, uses in seen.items():
        if len(uses) > 1:
            assert symbol in SHARED, f"{symbol} is declared by {[p for p, _ in uses]} with meanings {uses}"
            assert all(SHARED[symbol] in meaning for _, meaning in uses), uses


@pytest.mark.parametrize(
    "page,gone",
    [
        ("cnn-backprop.md", r"(?<![A-Za-z_∂/])K\[|\bR×S\b|P = ⌊"),  # kernels are k, their size k₁×k₂, output H′×W′
        (
            "attention-backprop.md",
            r"\bs·Q|\| s \||∂s_k|\bs_j|δ_jk|\bu·p",
        ),  # the scale is α, a row's scores z, g = ∂C/∂p
        ("rnn-backprop.md", r"step s\b|\^\{s−t\}"),  # a later step is τ
    ],
)
def test_the_renamed_clashes_are_gone(page, gone):
    text = (DOCS / page).read_text(encoding="utf-8")
    body = (
        text.split("| note 001 |")[0] + text.split("## Cross-correlation")[-1]
    )  # note 001's letters stay in its table
    assert not re.search(gone, body), re.search(gone, body)


def test_the_cnn_page_maps_note_001s_symbols():
    text = (DOCS / "cnn-backprop.md").read_text(encoding="utf-8")
    table = text[text.index("| note 001 | this page |") :].split("\n\n")[0]
    for note, here in [
        ("w^l_mn", "k^l[o, c, r, s]"),
        ("x^l_ij", "z^l[o, p, q]"),
        ("o^l_ij", "f(z^l) = x^{l+1}"),
        ("k1 × k2", "k₁ × k₂"),
        ("⌈(H − R + 1 + 2a)/u⌉", "H′ = ⌊(H + 2a − k₁)/u⌋ + 1"),
    ]:
        row = next(line for line in table.splitlines() if note in line)
        assert here in row, row
