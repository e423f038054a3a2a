"""Exercise mode: practise writing backward passes, graded against bprop's own.

``write_exercise(op, path)`` writes a file with the op's forward pass filled in and its
backward left for the learner, the derivation's steps as comments; ``check_file(path)`` runs
the learner's backward on random inputs against bprop's hand-derived backward of the same op
and finite differences, and names per gradient what is off (a missing term, a transposition,
a wrong scale, a missing sum over the batch, …). The ``bprop exercise`` and ``bprop check``
commands call these two. In a notebook, ``check_backward(op, backward)`` grades a function
written in a cell the same way.

DESIGN.md's layout has no place for it (issue 13 came after): a package of its own above
``bprop.cs231n``, whose cache-style layer functions the exercise files follow, and ``ops``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bprop.exercise.catalog import registry
from bprop.exercise.check import ExerciseError, Report, check_file
from bprop.exercise.inline import check_backward
from bprop.i18n import check_lang, text
from bprop.serialization import atomic_write_bytes

__all__ = ["ExerciseError", "Report", "check_backward", "check_file", "names", "write_exercise"]


def names() -> list[str]:
    """The ops there are exercises for."""
    return list(registry())


def write_exercise(op: str, path: str | os.PathLike, lang: str = "en") -> Path:
    """Write the exercise for ``op`` to ``path`` (never over an existing file); ``lang="zh"``
    writes its explanations and hints in Chinese."""
    exercises = registry()
    if op not in exercises:
        raise ExerciseError(f"unknown op {op!r}: there are exercises for {', '.join(exercises)}")
    if not str(path):  # Path("") would be the current folder
        raise ExerciseError("--out needs a file name, got an empty one")
    file = Path(path)
    if file.is_dir():
        raise ExerciseError(f"{path} is a folder: give a file name, e.g. --out {file / (op + '.py')}")
    if file.exists():
        raise ExerciseError(f"{path} exists already: not overwriting it (delete it or choose another --out)")
    if not file.parent.is_dir():
        raise ExerciseError(f"{path}: the folder {file.parent} does not exist")
    text = in_language(op, exercises[op].template, check_lang(lang)).replace("THIS_FILE.py", file.name)
    atomic_write_bytes(file, text.encode("utf-8"))
    return file


def in_language(op: str, template: str, lang: str) -> str:
    """The exercise file in ``lang``: the Chinese header and hints swapped in for the English."""
    if lang == "en":
        return template
    from bprop.exercise import hints_zh

    returns = re.search(r"return\n    (.*)\neach with", template).group(1)
    header_end = template.index('"""\n\nimport numpy')
    body = template[header_end + 4 :]
    header = hints_zh.HEADER.format(title=text(f"ex.{op}", "zh"), returns=returns)
    if op in hints_zh.NORM_OVER:
        over, m = hints_zh.NORM_OVER[op]
        hints = hints_zh.HINTS["norm"].format(over=over, m=m)
    else:
        hints = hints_zh.HINTS[op]
    body = re.sub(r"(def backward\(dout, cache\):\n    [^\n]*\n)(    #[^\n]*\n)+", lambda m: m.group(1) + hints, body)
    return header + body
