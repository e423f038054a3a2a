"""Checks of the paths a command writes to, shared by ``run`` (its ``--out`` folder) and the
commands that write one file (``bprop explain --out``, ``bprop export --onnx``): each refuses
what it cannot or must not write with one line naming the option, before any work is done."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from bprop.train.run_config import ConfigError


def broken_link(path: Path) -> str | None:
    """Why ``path`` is a symbolic link that leads nowhere ("a loop of symbolic links", "a
    symbolic link to X, which does not exist"), or None. Writing there would replace the link."""
    if not path.is_symlink() or path.exists():
        return None
    if _is_link_loop(path):
        return "a loop of symbolic links"
    return f"a symbolic link to {os.readlink(path)}, which does not exist"


def _is_link_loop(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 says "Symlink loop"
        return True
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def check_writable_file(path: str | os.PathLike, option: str) -> None:
    """A file may be written at ``path``: not an empty name, a folder or a broken symbolic
    link, and its folder exists and is writable; ConfigError names ``option`` otherwise."""
    if not str(path):  # Path("") would be the current folder
        raise ConfigError(f"{option} needs a file name, got an empty one")
    target = Path(path)
    why = broken_link(target)
    if why is not None:
        raise ConfigError(f"{option} {path} is {why}: give a file name")
    if target.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: the folder {parent} is not writable")
