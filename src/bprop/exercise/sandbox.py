"""Run a learner's exercise file in a child process, with a time and an output limit.

The learner's code may loop forever, print without end, call ``os._exit(0)`` or crash the
interpreter: none of that may hang `bprop check` or pass for a graded answer. The child
(child.py) gets the cases as a .npz and answers with a .npz and a .json; whatever stops it
from answering becomes one ExerciseError line naming what happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from bprop.exercise.catalog import Case
from bprop.i18n import text

TIME_LIMIT = 60.0  # seconds for the whole file: its import of NumPy and every case, on a busy machine
OUTPUT_LIMIT = 1 << 20  # bytes the file may print


class ExerciseError(Exception):
    """A mistake in how the exercise was asked for, or a file that cannot be graded (not
    found, an endless loop, a crash): the CLI prints it as one line and exits 2."""


def run_learner(
    path: Path,
    cases: list[Case],
    douts: list[Any],
    lang: str = "en",
    time_limit: float = TIME_LIMIT,
) -> tuple[dict, dict[str, np.ndarray]]:
    """The child's report (how the file and each case ran) and the arrays it returned."""
    with tempfile.TemporaryDirectory(prefix="bprop-check-") as folder:
        inputs_file = os.path.join(folder, "inputs.npz")
        given = {
            f"c{k}.{name}": np.asarray(value) for k, case in enumerate(cases) for name, value in case.inputs.items()
        }
        given.update({f"c{k}.dout": np.asarray(dout) for k, dout in enumerate(douts)})
        np.savez(inputs_file, **given)
        source = Path(__file__).with_name("child.py").read_text(encoding="utf-8")
        command = [sys.executable, "-c", source, str(path.resolve()), inputs_file, folder]
        status, tail, stopped = _run(command, path.resolve().parent, time_limit)
        if stopped == "time":
            raise ExerciseError(text("child.timeout", lang, path=path, limit=time_limit))
        if stopped == "output":
            raise ExerciseError(text("child.output", lang, path=path, limit=OUTPUT_LIMIT))
        meta_file = os.path.join(folder, "meta.json")
        if not os.path.exists(meta_file):
            lines = [line for line in tail.splitlines() if line.strip()]
            detail = (
                text("child.died_detail", lang, line=lines[-1].strip()[:200])
                if lines
                else text("child.no_detail", lang)
            )
            raise ExerciseError(text("child.died", lang, path=path, status=status, detail=detail))
        with open(meta_file, encoding="utf-8") as f:
            meta = json.load(f)
        with np.load(os.path.join(folder, "results.npz"), allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    return meta, arrays


def _run(command: list[str], cwd: Path, time_limit: float) -> tuple[int, str, str]:
    """(exit status, the last lines it printed, "" or what stopped it: "time" or "output")."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    state = {"tail": b"", "total": 0, "stopped": ""}

    def pump() -> None:
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        while chunk := os.read(fd, 1 << 16):
            state["total"] += len(chunk)
            state["tail"] = (state["tail"] + chunk)[-4096:]
            if state["total"] > OUTPUT_LIMIT:
                state["stopped"] = "output"
                _kill(proc)
                return

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=time_limit)
    except subprocess.TimeoutExpired:
        state["stopped"] = state["stopped"] or "time"
        _kill(proc)
        proc.wait()
    _kill(proc)  # whatever the file started in the background ends with it
    reader.join(timeout=5)
    proc.stdout.close()  # type: ignore[union-attr]
    return proc.returncode, state["tail"].decode("utf-8", "replace"), state["stopped"]


def _kill(proc: subprocess.Popen) -> None:
    """End the child and anything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
