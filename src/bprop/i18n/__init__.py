"""The en/zh catalogue: every sentence bprop shows a learner, English and Chinese side by side.

Each area keeps its texts in one module of this package (``exercise``, ``explain``, …) as
``TEXTS = {key: (english, chinese)}``; ``text(key, lang, **values)`` picks one and fills in its
``{placeholders}`` (a list value is joined with ", " or "、"). A message that is built now and
shown later (a diagnosis, a verdict) is a ``Msg``: its key and values, rendered in whichever
language the reader asked for. The Chinese is written as Chinese sentences (full-width ，：；),
not as English with words swapped; a test checks that every key has both texts with the same
placeholders. ``display_width`` and ``pad`` lay out tables whose cells hold Chinese.

Imports nothing of bprop, so that every floor may use it.
"""

from __future__ import annotations

import unicodedata
from typing import Any, NamedTuple

from bprop.i18n import exercise, explain, explain_layers, report, viewer

LANGUAGES = ("en", "zh")
LIST_SEPARATORS = {"en": ", ", "zh": "、"}  # a list value joins its items the language's way


def _merge(*modules: Any) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for module in modules:
        clash = merged.keys() & module.TEXTS.keys()
        if clash:
            raise RuntimeError(f"i18n: key(s) {sorted(clash)} defined twice")
        merged.update(module.TEXTS)
    return merged


CATALOGUE: dict[str, tuple[str, str]] = _merge(exercise, explain, explain_layers, report, viewer)


class Msg(NamedTuple):
    """A text to show later: its catalogue key and the values of its placeholders (which may
    themselves be Msgs, rendered in the same language)."""

    key: str
    values: dict[str, Any]

    def render(self, lang: str = "en") -> str:
        return text(self.key, lang, **self.values)


def msg(key: str, **values: Any) -> Msg:
    if key not in CATALOGUE:
        raise KeyError(f"i18n: no text {key!r} in the catalogue")
    return Msg(key, values)


def check_lang(lang: str) -> str:
    """``lang`` if it is one of LANGUAGES, else a one-line ValueError naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not available; choose one of {', '.join(LANGUAGES)}")
    return lang


def text(key: str, lang: str = "en", **values: Any) -> str:
    """The catalogue's text ``key`` in ``lang`` with its placeholders filled in."""
    template = CATALOGUE[key][LANGUAGES.index(check_lang(lang))]
    return template.format(**{k: _rendered(v, lang) for k, v in values.items()})


def _rendered(value: Any, lang: str) -> Any:
    """A Msg in ``lang``; a list as its items joined by the language's separator (、 in Chinese)."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, list):
        return LIST_SEPARATORS[lang].join(str(_rendered(v, lang)) for v in value)
    return value


def display_width(line: str) -> int:
    """Columns ``line`` takes in a terminal: East Asian wide and full-width characters (汉字，：)
    take two, combining marks none, the rest one."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def pad(line: str, width: int) -> str:
    """``line`` padded with spaces to ``width`` display columns (str.ljust counts a 汉字 as one)."""
    return line + " " * max(0, width - display_width(line))
