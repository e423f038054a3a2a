"""Exercises in a notebook: grade a ``backward`` function written in a cell.

``check_backward("sigmoid", backward)`` takes the learner's function, appends its source to the
op's exercise file (whose forward is complete; the later ``def backward`` replaces the
template's) and grades that file exactly as ``bprop check`` does. The result is the same
``Report``, which a notebook shows as a table (``Report._repr_html_``).
"""

from __future__ import annotations

import inspect
import tempfile
import textwrap
from pathlib import Path
from typing import Callable

from bprop.exercise.catalog import registry
from bprop.exercise.check import ExerciseError, Report, check_file


def check_backward(op: str, backward: Callable, seed: int = 0) -> Report:
    """Grade ``backward(dout, cache)`` for exercise ``op`` on random inputs (see ``check_file``)."""
    exercises = registry()
    if op not in exercises:
        raise ExerciseError(f"unknown op {op!r}: there are exercises for {', '.join(exercises)}")
    if getattr(backward, "__name__", "") != "backward":
        raise ExerciseError(f"check_backward: give the function named backward, got {backward!r}")
    try:
        source = textwrap.dedent(inspect.getsource(backward))
    except (OSError, TypeError) as err:
        raise ExerciseError(f"check_backward: cannot read the source of {backward!r} ({err})") from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{op}.py"
        path.write_text(exercises[op].template + "\n\n# the learner's backward, from the notebook\n" + source)
        report = check_file(path, seed)
    report.path = f"your backward for {op}"
    return report
