"""Texts of explain (filled in by the explain modules' keys)."""

TEXTS: dict[str, tuple[str, str]] = {}
