"""The public PyTorch scripts of tests/torch_scripts/ (see its README) run through `bprop run`
and under torch; their final losses must agree within what another seed changes in torch.

Both runs seed their generators, but bprop's and torch's generators draw different numbers, so
the two runs start from different weights and batches: the tolerance of each script is the
spread of torch's own final loss over seeds, measured once (README) and rounded up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat.test_run import ROOT, SCRIPTS, bprop_run, final_loss

# script -> (relative tolerance on the final loss: |bprop − torch| ≤ tol · torch, how long it may take)
SCRIPT_TOLERANCES = {
    "autograd_tutorial.py": 0.6,
    "polynomial_autograd.py": 1.0,
    "polynomial_nn.py": 1.0,
    "polynomial_optim.py": 1.0,
    "polynomial_module.py": 1.0,
    "dynamic_net.py": 1.0,
    "two_layer_net_optim.py": 1.0,
    "quickstart.py": 0.5,
    "cifar10_cnn.py": 0.6,
    "char_rnn_classification.py": 0.6,
    "gpt_lecture.py": 0.5,
    # deterministic starts (torch.full, zero init): both libraries reach the same loss
    "polynomial_custom_function.py": 0.01,
    "lbfgs_regression.py": 0.01,
}


def torch_run(script: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=900, cwd=script.parent
    )


def test_every_script_has_a_tolerance_and_a_source() -> None:
    scripts = sorted(p.name for p in SCRIPTS.glob("*.py"))
    assert scripts == sorted(SCRIPT_TOLERANCES), "tests/torch_scripts and SCRIPT_TOLERANCES list different scripts"
    readme = (SCRIPTS / "README.md").read_text()
    for name in scripts:
        head = " ".join((SCRIPTS / name).read_text().splitlines()[:2])
        assert head.startswith("# Modelled on ") and ("BSD-3-Clause" in head or "MIT licence" in head), name
        assert name in readme, f"{name} is not in tests/torch_scripts/README.md"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCRIPT_TOLERANCES))
def test_script_matches_torch(name: str) -> None:
    pytest.importorskip("torch")
    ours = bprop_run(SCRIPTS / name, timeout=900)
    assert ours.returncode == 0, ours.stderr
    theirs = torch_run(SCRIPTS / name)
    assert theirs.returncode == 0, theirs.stderr
    a, b = final_loss(ours.stdout), final_loss(theirs.stdout)
    assert abs(a - b) <= SCRIPT_TOLERANCES[name] * abs(b), f"{name}: bprop {a}, torch {b}"
