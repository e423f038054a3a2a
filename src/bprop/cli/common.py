"""What several commands share: a count in words."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless n is 1: "1 test sample", "8 test samples"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
