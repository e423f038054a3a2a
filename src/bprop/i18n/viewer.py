"""Texts of the viewer page."""

TEXTS: dict[str, tuple[str, str]] = {}
