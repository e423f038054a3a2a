"""The README's "For cs231n students" example runs as written and prints what it promises."""

import re
from pathlib import Path


def test_cs231n_section_runs(capsys):
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"## For cs231n students.*?```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "README cs231n example", "exec"), {})
    out = capsys.readouterr().out
    assert "initial loss 2.300479089768492" in out
    errors = [float(line.split()[-1]) for line in out.splitlines() if "relative error" in line]
    assert len(errors) == 6 and max(errors) < 1e-4  # W2's 2.2e-05 is the notebook's own
    assert "(Epoch 20 / 20) train acc: 1.000000" in out
