"""One meaning per symbol across the three derivation pages (docs/*-backprop.md): the symbols
their notation tables declare never mean two things, and the clashes renamed away stay gone."""

import re
import unicodedata
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("cnn-backprop.md", "rnn-backprop.md", "attention-backprop.md")
# symbols two pages share, and a word each of their meanings must contain
SHARED = {"x": "input", "z": "activation", "δ": "∂C/∂z"}


def notation(page: str) -> dict[str, str]:
    """symbol → meaning from every "| symbol |" table of the page: "x[c, i, j]" and "x_t" are x (the step
    index t is not part of a name), while n_h, W_ih and the hatted gates î, f̂, ô are symbols of their own."""
    text = unicodedata.normalize("NFC", (DOCS / page).read_text(encoding="utf-8"))
    symbols: dict[str, str] = {}
    for start in [found.start() for found in re.finditer(r"^\| symbol \|", text, flags=re.M)]:
        for row in text[start:].split("\n\n")[0].splitlines()[2:]:
            cells = [c.strip() for c in row.strip("|").split("|")]
            for part in re.sub(r"\[[^\]]*\]", "", cells[0]).split(","):
                symbol = re.sub(r"_t$", "", re.split(r"[\s=]", part.strip())[0])
                assert symbols.get(symbol, cells[-1]) == cells[-1], f"{page}: {symbol} declared twice"
                symbols[symbol] = cells[-1]
    return symbols


def clashes(tables: dict[str, dict[str, str]]) -> list[str]:
    """Each symbol that two tables declare with different meanings (SHARED lists the agreed ones)."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for page, symbols in tables.items():
        for symbol, meaning in symbols.items():
            seen.setdefault(symbol, []).append((page, meaning))
    found = []
    for symbol, uses in seen.items():
        agreed = symbol in SHARED and all(SHARED[symbol] in meaning for _, meaning in uses)
        if len({meaning for _, meaning in uses}) > 1 and not agreed:
            found.append(f"{symbol}: " + "; ".join(f"{page}: {meaning}" for page, meaning in uses))
    return found


def test_no_symbol_means_two_things_across_the_pages():
    assert clashes({page: notation(page) for page in PAGES}) == []


def test_the_tables_declare_the_symbols_whose_clashes_were_renamed():
    # without these rows the check above could not see G, H, T, L, D or the gates clash again
    cnn, rnn, attention = (notation(page) for page in PAGES)
    assert {"H", "W", "G", "x", "k"} <= cnn.keys() and "height" in cnn["H"] and "groups" in cnn["G"]
    assert {"n_h", "Λ", "s", "s̃", "î", "f̂", "ô", "r̂", "ẑ", "n̂"} <= rnn.keys()
    assert not {"H", "D", "c", "i", "f", "o", "r", "n"} & rnn.keys()
    assert {"n_q", "n_k", "∂C/∂O", "D"} <= attention.keys() and not {"G", "L", "T"} & attention.keys()
    assert "keep mask" in attention["D"] and "hidden units" in rnn["n_h"]


def test_a_clash_is_found_when_two_tables_disagree():
    # the check itself: H as the RNN's hidden size again, or a gate without its hat
    cnn, rnn = notation("cnn-backprop.md"), notation("rnn-backprop.md")
    assert clashes({"cnn": cnn, "rnn": rnn | {"H": "the number of hidden units"}}) == [
        "H: cnn: the input's height and width (note 001's H, W); rnn: the number of hidden units"
    ]
    assert clashes({"cnn": cnn | {"i": "pixel row"}, "rnn": rnn | {"i": "input gate"}})
    assert not clashes({"cnn": cnn, "rnn": rnn | {"x": "input at step t"}})  # an agreed shared symbol


@pytest.mark.parametrize(
    "page,gone",
    [
        ("cnn-backprop.md", r"(?<![A-Za-z_∂/])K\[|\bR×S\b|P = ⌊"),  # kernels are k, their size k₁×k₂, output H′×W′
        (
            "attention-backprop.md",
            r"\bs·Q|\| s \||∂s_k|\bs_j|δ_jk|\bu·p",
        ),  # the scale is α, a row's scores z, g = ∂C/∂p
        ("rnn-backprop.md", r"step s\b|\^\{s−t\}"),  # a later step is τ
        # C is the cost, O the attention output: the channel counts are F and F′
        ("cnn-backprop.md", r"\bC (channels|input)|C/G|, C\)|·C\b|\bO (output|channels)|\(O, "),
        # h is the RNN's hidden state: pixels are note 001's i, j
        ("cnn-backprop.md", r"\[c, h|\bh, w\]|\[h, w\]|\bh \+ a\b|\bw \+ b\]"),
        # r is note 000's sample index: kernel offsets are note 001's m, n, and a sample is not n
        ("cnn-backprop.md", r"[\[,] ?r, s\]|\+ r\b|\br·d|Σ_\{?r,? ?s|Σ_rs|\(r, s\)|\[n, [co]\b|Σ_n Σ_p"),
        # g is the gradient from above: the LSTM's candidate (torch's gate g) is c̃
        ("rnn-backprop.md", r"\(i, f, g, o\)|⊙ g\b|\bδg\b|1 − g²|\bg = 0|i·g\b"),
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
        ("w^l_mn", "k^l[o, c, m, n]"),
        ("m, n (kernel indices)", "| m, n |"),
        ("i, j (pixel indices)", "| i, j |"),
        ("x^l_ij", "z^l[o, p, q]"),
        ("o^l_ij", "f(z^l) = x^{l+1}"),
        ("k1 × k2", "k₁ × k₂"),
        ("⌈(H − R + 1 + 2a)/u⌉", "H′ = ⌊(H + 2a − k₁)/u⌋ + 1"),
    ]:
        row = next(line for line in table.splitlines() if note in line)
        assert here in row, row


def _body(page: str) -> str:
    """The page without its note-001 table, its paragraph on other pages' letters and its `code`."""
    text = (DOCS / page).read_text(encoding="utf-8")
    text = text.split("| note 001 |")[0] + text.split("## Cross-correlation")[-1] if "| note 001 |" in text else text
    text = re.sub(r"Each symbol keeps one meaning.*?\n\n", "", text, flags=re.S)
    return re.sub(r"`[^`]*`", "", text)


@pytest.mark.parametrize("page", PAGES)
def test_c_is_only_the_cost(page):
    # a bare C (not inside ∂C/∂…) is always the cost: "C = …", "C^r" or "the cost/loss C"
    body = _body(page)
    for found in re.finditer(r"(?<![\w∂])C(?![\w/])", body):
        before, after = body[max(0, found.start() - 10) : found.start()], body[found.end() : found.end() + 3]
        assert after.startswith((" =", "^")) or before.endswith(("cost ", "loss ", "mean ")), before + "C" + after


@pytest.mark.parametrize("page,symbol", [("cnn-backprop.md", "O"), ("rnn-backprop.md", "O"), ("cnn-backprop.md", "h")])
def test_a_symbol_of_another_page_is_not_reused(page, symbol):
    # O is the attention output, h the RNN's hidden state: neither appears as a symbol elsewhere
    assert not re.search(rf"(?<![\w∂]){symbol}(?![\w′])", _body(page)), symbol


def test_g_on_the_rnn_page_is_only_the_gradient_from_above():
    body = _body("rnn-backprop.md")
    for found in re.finditer(r"(?<![\w∂δ])g(?![\w])", body):
        after = body[found.end() : found.end() + 20]
        context = body[found.start() - 20 : found.end() + 20]
        assert after.startswith(("_", " = (0", " = [0", " is the gradient")), context
    body = unicodedata.normalize("NFC", body)
    assert "(î, f̂, s̃, ô) = (σ, σ, tanh, σ)" in body and "δs̃ = ∂s ⊙ î ⊙ (1 − s̃²)" in body


@pytest.mark.parametrize(
    "page,letters",
    [
        # H is the image height, D attention's dropout mask, G the groups, L the notes' last layer: the RNN's
        # hidden size is n_h and its diag(σ′) Λ_t; its gates are hatted and its cell state s (i, o, c are the
        # CNN's pixel and channel indices, f the activation, r the sample, n and m kernel offsets, k the kernel)
        ("rnn-backprop.md", "HDGLifocrnmk"),
        # the attention page's lengths are n_q, n_k (T is the RNN's steps) and its gradient from above ∂C/∂O
        ("attention-backprop.md", "GLTH"),
        ("cnn-backprop.md", "TD"),
    ],
)
def test_the_renamed_letters_are_not_symbols_of_the_page(page, letters):
    body = unicodedata.normalize("NFC", _body(page))
    found = re.search(rf"(?<![\w∂δ])[{letters}](?![\w\u0302\u0303′])", body)
    assert not found, body[found.start() - 30 : found.end() + 30]


@pytest.mark.parametrize(
    "page,present",
    [
        ("rnn-backprop.md", ["s_t = f̂ ⊙ s_{t−1} + î ⊙ s̃", "h_t = ô ⊙ tanh(s_t)", "h_t = (1 − ẑ) ⊙ n̂ + ẑ ⊙ h_{t−1}"]),
        ("rnn-backprop.md", ["δr̂ = δn̂ ⊙ (W_hn h_{t−1} + b_hn) ⊙ r̂(1 − r̂)", "(W_hhᵀ Λ_{t+1})", "W_hh (4·n_h, n_h)"]),
        ("rnn-backprop.md", ["torch's `i`, `f`, `o`", "torch's `r`, `z`, `n`", "torch's `c` and its cell gate `g`"]),
        ("attention-backprop.md", ["∂C/∂V = Pᵀ ∂C/∂O", "∂C/∂P = ∂C/∂O Vᵀ", "| Q | n_q × E |", "| K | n_k × E |"]),
        ("cnn-backprop.md", ["| G | the number of groups", "| H, W | the input's height and width"]),
    ],
)
def test_the_renamed_formulas_read_as_written(page, present):
    text = unicodedata.normalize("NFC", (DOCS / page).read_text(encoding="utf-8"))
    for formula in present:
        assert unicodedata.normalize("NFC", formula) in text, formula


def test_r_on_the_cnn_page_is_only_note_000s_sample_index():
    body = _body("cnn-backprop.md")
    assert "| r = 1…N |" in body and "C = (1/N) Σ_r C^r" in body
    for index in re.findall(r"\[([^\]\n]*)\]", body):
        parts = [part.strip() for part in index.split(",")]
        assert "r" not in parts[1:] and not re.search(r"\br·|\+ r\b", index), index  # r leads, as the sample


def test_explain_and_the_viewer_print_the_pages_letters():
    # the formulas that explain and the viewer print follow the pages: sample r, kernel m, n, LSTM c̃
    src = Path(__file__).resolve().parents[1] / "src" / "bprop"
    files = ["i18n/explain.py", "i18n/viewer.py", "viz/explain_layers.py", "viz/explain_rnn.py", "viz/explain_notes.py"]
    files.append("viz/explain_render.py")
    files.append("i18n/explain_layers.py")
    old = r"k\[o, c, r, s\]|k\[r, ?s\]|\+ r\b|Σ_rs|\[n, [co]\b|Σ_n\b|δ_n\b|\(i, f, g, o\) =|⊙ g\b|1−g²"
    old += r"|\(i, f, c̃, o\)|c̃|\bc_t\b|c_\{|∂c\b|⊙ o\b|[⊙(]i\(1|f\(1−f\)|⊙ r/|\"r\", mask"  # LSTM gates, dropout r
    for name in files:
        found = re.search(old, (src / name).read_text(encoding="utf-8"))
        assert not found, (name, found)
    lstm = "(î, f̂, s̃, ô) = (σ, σ, tanh, σ)"
    assert unicodedata.normalize("NFC", lstm) in (src / "viz/explain_rnn.py").read_text(encoding="utf-8")
    assert "y = x ⊙ D/(1 − p)" in (src / "i18n/viewer.py").read_text(encoding="utf-8")
