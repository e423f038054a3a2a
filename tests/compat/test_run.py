"""`bprop run SCRIPT.py`: a PyTorch script runs on bprop; a missing torch name stops it in one
line naming the name and the script line (exit 2); bprop's own errors in one line too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "torch_scripts"


def bprop_run(script: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "bprop.cli", "run", str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=script.parent,
    )


def final_loss(output: str) -> float:
    return float(re.findall(r"final loss: (\S+)", output)[-1])


def write(tmp_path: Path, source: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.mark.parametrize("name", ["polynomial_nn.py", "polynomial_optim.py", "autograd_tutorial.py"])
def test_small_tutorial_scripts_run_unchanged(name: str) -> None:
    done = bprop_run(SCRIPTS / name)
    assert done.returncode == 0, done.stderr
    assert final_loss(done.stdout) < {"polynomial_nn.py": 400, "polynomial_optim.py": 1000}.get(name, 0.2)


def test_script_arguments_reach_sys_argv(tmp_path: Path) -> None:
    script = write(tmp_path, "import sys, torch\nprint(sys.argv[1:], torch.zeros(2).device)\n")
    done = bprop_run(script, "--epochs", "3", "-v")
    assert done.returncode == 0 and done.stdout.strip() == "['--epochs', '3', '-v'] cpu", done.stderr


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("import torch\nx = torch.ones(4)\ny = torch.fft.rfft(x)\n", "torch.fft.rfft is not in bprop (train.py:3)"),
        ("import torch.fft\n", "torch.fft is not in bprop (train.py:1)"),
        ("import torch\nfrom torch import fft\n", "torch.fft is not in bprop (train.py:2)"),
        ("import torchvision\n", "torchvision is not in bprop (train.py:1)"),
        ("import torch\n\nx = torch.ones(2)\nx.cumprod(0)\n", "torch.Tensor.cumprod is not in bprop (train.py:4)"),
        (
            "import torch\nm = torch.nn.Linear(2, 2)\nm.foo_bar()\n",
            "torch.nn.Linear.foo_bar is not in bprop (train.py:3)",
        ),
        (
            "import torch\nfrom torch import nn\nnn.Linear(2, 2, frobnicate=True)\n",
            "torch.nn.Linear(frobnicate=…) is not in bprop (train.py:3)",
        ),
        ("import torch\ntorch.set_default_dtype(torch.float64)\n", "is not in bprop (train.py:2)"),
        ("import torch\ntorch.half\n", "torch.half is not in bprop: float16, bprop computes in float32"),
    ],
)
def test_a_missing_torch_name_is_one_line_with_the_script_line(tmp_path: Path, source: str, line: str) -> None:
    done = bprop_run(write(tmp_path, source))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("bprop run: ") and line in done.stderr


def test_an_error_inside_bprop_is_one_line_naming_the_script_line(tmp_path: Path) -> None:
    done = bprop_run(write(tmp_path, "import torch\n\na = torch.ones(2, 3)\na @ torch.ones(2, 3)\n"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "matmul" in done.stderr and "(train.py:4)" in done.stderr
    cuda = bprop_run(write(tmp_path, "import torch\ntorch.zeros(2).to('cuda')\n"))
    assert cuda.returncode == 1 and "runs on the CPU only" in cuda.stderr and "(train.py:2)" in cuda.stderr


def test_the_scripts_own_error_keeps_its_traceback_without_bprops_frames(tmp_path: Path) -> None:
    done = bprop_run(write(tmp_path, "import torch\n\ndef f():\n    return 1 / 0\n\nf()\n"))
    assert done.returncode == 1 and "ZeroDivisionError" in done.stderr and "train.py" in done.stderr
    assert "bprop" not in done.stderr.replace("bprop run", "") and "runpy" not in done.stderr


def test_exit_status_and_missing_script(tmp_path: Path) -> None:
    assert bprop_run(write(tmp_path, "import sys\nsys.exit(3)\n")).returncode == 3
    missing = bprop_run(tmp_path / "nope.py")
    assert missing.returncode == 2 and "no script at" in missing.stderr


def test_python_dash_m_bprop_run_and_install_torch_in_a_notebook(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    script = write(tmp_path, "import torch\nprint(torch.cuda.is_available(), torch.backends.mps.is_available())\n")
    done = subprocess.run([sys.executable, "-m", "bprop.run", str(script)], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "False False", done.stderr
    cell = (
        "import bprop.compat\ntorch = bprop.compat.install_torch()\nimport torch.nn.functional as F\n"
        "import bprop\nprint(torch.Tensor is bprop.Tensor, F.relu is bprop.nn.functional.relu, "
        "hasattr(torch, 'fft'), torch.accelerator.is_available())\n"
    )
    done = subprocess.run([sys.executable, "-c", cell], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "True True False False", done.stderr
