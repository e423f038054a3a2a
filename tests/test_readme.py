"""The README's quick start runs as written."""

import re
from pathlib import Path


def test_quick_start_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Quick start\s+```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 16
    exec(compile(code, "README quick start", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) < 2.3 and printed[1] == "True"


def test_every_subcommand_and_optional_extra_is_documented():
    """A feature a newcomer cannot find in the README is not done: each CLI subcommand appears
    as a `bprop NAME` example and each optional extra as an install line or a mention."""
    import pytest

    from bprop.cli import SUBCOMMANDS

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    for name in SUBCOMMANDS:
        assert re.search(rf"\bbprop {name}\b", text), f"README shows no `bprop {name}` example"
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in set(extras) - {"test", "dev"}:
        assert f"bprop[{extra}]" in text, f"README never says how to install the {extra!r} extra"
