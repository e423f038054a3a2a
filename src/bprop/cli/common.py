"""What several commands share: a file they may write, a count in words."""

from __future__ import annotations

import os
from pathlib import Path

from bprop.train.run import RunError


def check_writable_file(path: str, option: str) -> None:
    """A file may be written at ``path``: it is not a folder and its folder exists and is writable."""
    if not path:  # Path("") would be the current folder
        raise RunError(f"{option} needs a file name, got an empty one")
    target = Path(path)
    if target.is_dir():
        raise RunError(f"{option} {path} is a folder; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise RunError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"{option} {path}: the folder {parent} is not writable")


def count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless n is 1: "1 test sample", "8 test samples"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
