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
