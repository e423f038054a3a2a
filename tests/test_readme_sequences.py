"""The README's Sequences example runs as written and prints what its comments say."""

import re
from pathlib import Path


def test_sequences_example_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Sequences.*?```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "README sequences", "exec"), {})
    assert capsys.readouterr().out.strip() == "(4, 10, 32) (4, 10, 10) (64, 16)"
