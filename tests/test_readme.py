"""The README's quick start runs as written."""

import re
from pathlib import Path
from typing import Callable

import pytest


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
    from bprop.cli import SUBCOMMANDS

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    for name in SUBCOMMANDS:
        assert re.search(rf"\bbprop {name}\b", text), f"README shows no `bprop {name}` example"
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in set(extras) - {"test", "dev"}:
        assert f"bprop[{extra}]" in text, f"README never says how to install the {extra!r} extra"


# Every command in the README's sh blocks is either run here, in order, in a fresh folder (digits,
# explain, MPI on this machine: about a minute, so in the slow suite; the explain commands also in
# the default one), or named below with the reason it is not: a README command nobody has
# classified fails the test.
NOT_RUN_HERE = {
    "bprop explain --checkpoint runs/r1/best.npz --samples 4": (
        "needs the run above, which the default suite does not train: tests/test_cli_explain.py"
    ),
    "make train": "builds a virtual environment: timed by hand on a fresh clone",
    "make test": "builds a virtual environment and runs this suite",
    "bprop train --data mnist --data-dir ../shared/data --out runs/mlp": "minutes on MNIST: benchmarks/accuracy.py",
    "bprop train --data mnist --data-dir ../shared/data --model lenet5 --out runs/lenet": "benchmarks/accuracy.py",
    "mpirun --hostfile hosts -n 8 bprop train --data mnist --data-dir /shared/data --out /shared/runs/a": (
        "needs a cluster"
    ),
}


# commands whose exit status on a fresh clone is meant to be non-zero, and why
EXPECTED_EXIT = {
    "bprop check bn.py": (1, "the exercise's backward is not written yet on a fresh clone: check says so"),
    "bprop check bn.py --lang zh": (1, "the same, said in Chinese"),
}


def readme_commands() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def run_readme_commands(tmp_path: Path, keep: Callable[[str], bool]) -> Path:
    """Run the README's commands that ``keep`` selects, in order, in a fresh folder with
    `bprop` on the PATH; return the folder."""
    import os
    import shutil
    import subprocess
    import sys

    commands = readme_commands()
    unknown = set(NOT_RUN_HERE) - set(commands)
    assert not unknown, f"NOT_RUN_HERE names commands the README no longer has: {unknown}"
    quick = [c for c in commands if c not in NOT_RUN_HERE and keep(c)]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bprop").write_text(f'#!/bin/sh\nexec {sys.executable} -m bprop.cli "$@"\n')
    (bin_dir / "bprop").chmod(0o755)
    mpirun = Path(sys.executable).parent / "mpirun"
    if not mpirun.exists() and shutil.which("mpirun") is None:
        quick = [c for c in quick if "mpirun" not in c and "--workers" not in c]
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]),
        PYTHONPATH=str(src),
        OMPI_ALLOW_RUN_AS_ROOT="1",  # what --workers passes as --allow-run-as-root, for containers
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OPENBLAS_NUM_THREADS="1",
    )
    work = tmp_path / "repo"
    work.mkdir()
    for command in quick:
        result = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        expected = EXPECTED_EXIT.get(command, (0, ""))[0]
        assert result.returncode == expected, f"{command}\n{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr, command
    return work


@pytest.mark.slow
def test_the_readme_shell_commands_run_as_written(tmp_path):
    work = run_readme_commands(tmp_path, lambda command: True)
    assert (work / "runs" / "r1" / "report.html").exists() and (work / "digits.onnx").exists()
    assert (work / "runs" / "dp" / "metrics.json").exists()


def test_the_readme_explain_commands_run_as_written(tmp_path):
    work = run_readme_commands(tmp_path, lambda command: command.startswith("bprop explain"))
    assert (work / "explain.html").read_text().startswith("<!DOCTYPE html>")


def test_the_readme_resume_example_stops_part_way_and_resumes_whatever_the_speed(tmp_path):
    """The stop-and-resume example stops on the training loss, not on a clock: the first command
    always stops part-way (so the second has a run to continue), the second always resumes it."""
    import json

    work = run_readme_commands(tmp_path, lambda command: "runs/stopped" in command)
    run = work / "runs" / "stopped"
    epochs = len((run / "history.csv").read_text().splitlines()) - 1
    assert 3 < epochs < 30
    assert json.loads((run / "metrics.json").read_text())["stop_reason"].endswith("reached the target 0.01")


def test_the_readme_python_run_config_example_runs(tmp_path, monkeypatch, capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"### The same run from Python\s+```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README RunConfig example", "exec"), namespace)
    assert len(namespace["result"].history.epochs) == 5 and len(namespace["more"].history.epochs) == 8
    assert namespace["more"].test["accuracy"] > 0.5


def test_the_readme_profile_output_is_what_its_block_prints(capsys):
    """The profile example's output is regenerated here: every op, call count and memory figure
    (and the header and the closing remark) as printed now; only the times may differ."""
    section = (Path(__file__).resolve().parents[1] / "README.md").read_text().split("## Profiling", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"\n```\n(op .*?)```", section, re.S).group(1)
    from bprop.runtime import workspace

    workspace.release()  # the README's figures are a fresh process's: scratch allocated in its first step
    exec(compile(code, "README profile example", "exec"), {})

    def figures(table: str) -> tuple:
        lines = table.strip().splitlines()
        rows = {f[0]: (f[1], f[4], float(f[-2]), float(f[-1])) for f in (line.split() for line in lines[2:-1])}
        return lines[0], rows, lines[-1].split(";")[1:]

    (header, rows, remark), (shown_header, shown_rows, shown_remark) = figures(capsys.readouterr().out), figures(shown)
    assert (header, remark, rows.keys()) == (shown_header, shown_remark, shown_rows.keys())
    for op, (fwd, bwd, alloc, peak) in rows.items():  # memory within 5%
        assert (fwd, bwd) == shown_rows[op][:2], op
        assert (alloc, peak) == pytest.approx(shown_rows[op][2:], rel=0.05, abs=0.01), op


def test_the_readme_check_output_is_what_check_prints(tmp_path, monkeypatch, capsys):
    """The exercise-mode example: the README's output of `bprop check bn.py` for a batch-norm
    backward that forgot the path through the variance, regenerated. Errors below 1e-6 (the
    right gradients' rounding) may differ in their digits; every word and the wrong one may not."""
    from bprop.cli import main
    from tests.exercise.answers import RIGHT, with_backward

    section = (Path(__file__).resolve().parents[1] / "README.md").read_text().split("### Exercise mode", 1)[1]
    shown = re.search(r"\n```\n(bn\.py: .*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    with_backward("batchnorm", RIGHT["batchnorm"].replace(" - x_hat * (a * x_hat).mean(axis=0)", ""), Path("."), "bn")
    assert main(["check", "bn.py"]) == 1

    def words(text: str) -> str:
        return re.sub(r"\d\.\de-(?:0[7-9]|[1-9]\d)", "tiny", text.strip())

    assert words(capsys.readouterr().out) == words(shown)
