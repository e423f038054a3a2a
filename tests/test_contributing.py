"""CONTRIBUTING.md's "How to add an op or layer" stays true: the files it names exist, and every
op has what it says an op needs (an op-table entry and a textbook twin in reference.py)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from bprop import reference
from tests.ops.op_db import OPS
from tests.ops.test_op_db import functions_in_ops

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
# the families CONTRIBUTING.md says need no loop twin: NumPy's own functions are their textbook form
NUMPY_FAMILIES = {"elementwise", "reduction", "shape", "linalg"}


def section(title: str) -> str:
    start = GUIDE.index(f"## {title}")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start : end if end != -1 else len(GUIDE)]


def named_paths(text: str) -> list[str]:
    """Every `path` in backquotes that looks like a repository path (has a / or ends in .md)."""
    return [p for p in re.findall(r"`([^`\s]+)`", text) if "/" in p or p.endswith(".md")]


def test_every_file_the_guide_names_exists():
    paths = named_paths(section("How to add an op or layer"))
    assert len(paths) >= 10, f"the guide should name the files a new op needs, found {paths}"
    missing = []
    for path in paths:
        pattern = path.replace("<family>", "*").replace("<name>", "*")
        if not list(ROOT.glob(pattern.rstrip("/"))):
            missing.append(path)
    assert not missing, f"CONTRIBUTING.md names files that do not exist: {missing}"


def test_the_guide_names_the_files_an_op_needs():
    steps = section("How to add an op or layer")
    for needed in (
        "src/bprop/ops/<family>.py",
        "src/bprop/reference.py",
        "tests/ops/op_db.py",
        "src/bprop/nn/functional.py",
        "src/bprop/nn/layers/<family>.py",
        "src/bprop/nn/layers/activation.py",
        "src/bprop/nn/models.py",
    ):
        assert f"`{needed}`" in steps, f"CONTRIBUTING.md's steps do not name {needed}"
    assert "elementwise" in steps and "reductions" in steps and "reshapes" in steps and "matrix products" in steps


def reaches_reference(fn: Any, seen: set[int] | None = None) -> bool:
    """Whether an oracle is, or calls (through closures, globals or its source), bprop.reference."""
    seen = set() if seen is None else seen
    if fn is None or id(fn) in seen:
        return False
    seen.add(id(fn))
    if getattr(fn, "__module__", "") == reference.__name__:
        return True
    try:
        if "ref." in inspect.getsource(fn):
            return True
    except (OSError, TypeError):
        return False
    cells = [c.cell_contents for c in getattr(fn, "__closure__", None) or () if _filled(c)]
    names = getattr(getattr(fn, "__code__", None), "co_names", ())
    called = [fn.__globals__.get(n) for n in names] if hasattr(fn, "__globals__") else []
    return any(callable(f) and reaches_reference(f, seen) for f in [*cells, *called])


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def test_every_op_has_an_entry_and_a_textbook_twin():
    covered = {info.op: info for info in OPS}
    missing_entry = sorted(f.__name__ for f in functions_in_ops() - set(covered))
    assert not missing_entry, f"ops without an OpInfo in tests/ops/op_db.py: {missing_entry}"
    missing_twin = []
    for op, info in covered.items():
        family = op.__module__.rsplit(".", 1)[-1]
        if family in NUMPY_FAMILIES:
            continue
        if not (reaches_reference(info.ref) or callable(getattr(reference, family, None))):
            missing_twin.append(f"{family}.{op.__name__}")
    assert not missing_twin, (
        f"ops whose oracle in tests/ops/op_db.py is no textbook twin in bprop/reference.py: {missing_twin} "
        "(see CONTRIBUTING.md, step 2)"
    )


def test_the_twin_check_catches_an_op_without_one():
    """The check above fails for an oracle that is plain NumPy (a deliberately wrong entry)."""
    assert not reaches_reference(lambda x: x * 2)
    assert reaches_reference(next(info.ref for info in OPS if info.name == "L1"))
