"""Plain-text corpora for character-level language models: the text (ANSI colour codes
stripped, as the tang300 poems carry them), a vocabulary of its distinct characters, and
windows of token ids whose targets are the same windows shifted by one character.

The last ``held_out`` fraction of the characters is the test data, contiguous, so that no test
window overlaps a training one; the vocabulary is taken from the whole text so that every test
character has an id.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np

from bprop.data.dataset import ArrayDataset
from bprop.data.datasets.download import DatasetError

ANSI_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RECORD_SEPARATOR = re.compile(r"^%$", re.M)  # the fortune format: one line "%" between records
WINDOW = 64  # characters per training window: the context a model sees


def read_text(path: str | os.PathLike) -> str:
    """The file as UTF-8 text without colour codes, records separated by an empty line."""
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"--data text:{path}: is a folder (expected a UTF-8 text file)")
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"  # /dev/null, a pipe
        raise DatasetError(f"--data text:{path}: {what} (expected a UTF-8 text file)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(f"--data text:{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not text:
        raise DatasetError(f"--data text:{path}: the file is empty (expected a UTF-8 text to learn from)")
    text = RECORD_SEPARATOR.sub("", ANSI_CODE.sub("", text)).strip()
    if not text:  # else the model would learn the one "\n" this function appends
        raise DatasetError(f"--data text:{path}: the file holds no text, only white space or colour codes")
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def windows(ids: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows x = ids[i : i + length] and their targets y = ids[i + 1 : i + length + 1]."""
    count = (len(ids) - 1) // length
    starts = np.arange(count) * length
    x = ids[starts[:, None] + np.arange(length)]
    return x, ids[starts[:, None] + np.arange(1, length + 1)]


def _split(count: int, held_out: float) -> int:
    """The index of the first held-out character."""
    return int(count * (1 - held_out))


def _fits(count: int, held_out: float, length: int) -> bool:
    """Whether ``count`` characters give at least one window to train on and one held out."""
    split = _split(count, held_out)
    return split - 1 >= length and count - split - 1 >= length


def load_text(
    path: str | os.PathLike, held_out: float = 0.1, length: int = WINDOW
) -> tuple[ArrayDataset, ArrayDataset]:
    """(train, test) windows of token ids; ``classes`` of both is the vocabulary (one character
    per class, sorted)."""
    text = read_text(path)
    vocabulary = sorted(set(text))
    lookup = {ch: i for i, ch in enumerate(vocabulary)}
    ids = np.array([lookup[ch] for ch in text], dtype=np.int64)
    split = _split(len(ids), held_out)
    if not _fits(len(ids), held_out, length):
        shortest = next(n for n in itertools.count(2 * length + 2) if _fits(n, held_out, length))
        raise DatasetError(
            f"--data text:{path}: {len(ids)} characters are too few for windows of {length} in both the "
            f"training and the held-out {held_out:.0%}; give a text of at least {shortest} characters"
        )
    train, test = windows(ids[:split], length), windows(ids[split:], length)
    name = f"text:{path}"
    return ArrayDataset(*train, classes=vocabulary, name=name), ArrayDataset(*test, classes=vocabulary, name=name)


def encode(text: str, vocabulary: list[str]) -> list[int]:
    """Token ids of ``text``; a character outside the vocabulary is an error that names it."""
    lookup = {ch: i for i, ch in enumerate(vocabulary)}
    unknown = [ch for ch in text if ch not in lookup]
    if unknown:
        count = f"{len(unknown)} character{'s' if len(unknown) > 1 else ''}"
        raise DatasetError(f"the prompt holds {count} the model never saw, first {unknown[0]!r}")
    return [lookup[ch] for ch in text]
