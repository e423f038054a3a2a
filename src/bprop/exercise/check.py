"""Grade a learner's exercise file: its backward on every case, gradient by gradient.

The file runs in a child process (sandbox.py); this side builds the cases, bprop's answers and
the named mistakes, and compares. A gradient is right only when it is right on every case; the
first case where it is not gives the diagnosis.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bprop.exercise.catalog import Case, Exercise, registry
from bprop.exercise.diagnose import TOLERANCE, diagnose, relative_error
from bprop.exercise.sandbox import TIME_LIMIT, ExerciseError, run_learner
from bprop.gradient_check import numerical_gradient
from bprop.i18n import Msg, check_lang, msg, text

MAX_SEED = 2**32 - 1  # NumPy's seeds, as RunConfig's seed

__all__ = ["ExerciseError", "GradientResult", "Report", "check_file"]


@dataclass
class GradientResult:
    name: str
    ok: bool = True
    error_vs_bprop: float | None = 0.0  # the largest over the cases; None: a shape differs
    error_vs_numeric: float | None = None  # on the first case without a kink; None: every case has one
    diagnosis: Msg | None = None
    case: int = 0  # 1-based number of the first case it is wrong on


@dataclass
class Report:
    path: str
    exercise: Exercise
    cases: list[Case]
    results: list[GradientResult] = field(default_factory=list)
    problem: Msg | None = None  # what stopped the grading before the gradients (not written, raised, …)
    returned_list: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None and all(r.ok for r in self.results)

    def format(self, lang: str = "en") -> str:
        lines = [text("report.header", lang, path=self.path, title=self.exercise.title(lang), count=len(self.cases))]
        for k, case in enumerate(self.cases, 1):
            note = case.note.render(lang)
            lines.append(
                text(
                    "report.case",
                    lang,
                    k=k,
                    shapes=describe(case.inputs),
                    note=text("report.note", lang, note=note) if note else "",
                )
            )
        if self.problem is not None:
            return "\n".join([*lines, "  " + self.problem.render(lang)])
        width = max(len(r.name) for r in self.results)
        for r in self.results:
            if r.error_vs_bprop is None:
                errors = text("report.shape_differs", lang)
            else:
                numeric = text("report.kinks_only", lang) if r.error_vs_numeric is None else f"{r.error_vs_numeric:.1e}"
                errors = text("report.errors", lang, bprop=r.error_vs_bprop, numeric=numeric)
            verdict = text("report.ok" if r.ok else "report.wrong", lang)
            lines.append(f"  {r.name:<{width}}  {verdict}  {errors}")
            if r.diagnosis is not None:
                lines.append(f"  {'':<{width}}    " + text("report.in_case", lang, k=r.case, diagnosis=r.diagnosis))
        if self.returned_list:
            lines.append("  " + text("report.list", lang))
        wrong = sum(not r.ok for r in self.results)
        total = len(self.results)
        lines.append(
            text("report.some_wrong", lang, wrong=wrong, total=total)
            if wrong
            else text("report.all_right", lang, total=total)
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import report_html

        return report_html(self)


def describe(inputs: dict[str, Any]) -> str:
    """ "x (2, 3, 5, 6), w (4, 3, 3, 2), stride 2, pad 1": the shapes and settings of a case."""
    return ", ".join(f"{k} {v.shape}" if isinstance(v, np.ndarray) else f"{k} {v}" for k, v in inputs.items())


def check_seed(seed: int) -> int:
    """``seed`` checked as ``bprop check --seed`` (and ``bprop train --seed``) take it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ExerciseError(f"--seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    return int(seed)


def read_op(path: str | os.PathLike) -> tuple[Path, Exercise]:
    """The file and the exercise its ``OP = "…"`` names, read without running the file."""
    if not str(path):  # Path("") would be the current folder
        raise ExerciseError("give the exercise file that `bprop exercise` wrote (FILE.py), not an empty name")
    file = Path(path)
    if file.is_dir():
        raise ExerciseError(f"{path} is a folder: give the .py file that bprop exercise wrote")
    if not file.is_file():
        raise ExerciseError(f"{path}: no such file (write one with: bprop exercise OP --out {path})")
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
    except SyntaxError as err:
        raise ExerciseError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ExerciseError(f"{path}: cannot read it as a Python file: {err}") from None
    name = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "OP" for t in node.targets):
            name = node.value.value if isinstance(node.value, ast.Constant) else ast.unparse(node.value)
    exercises = registry()
    if name not in exercises:
        # a file that fails as it runs says so before it is told what OP should be
        meta, _ = run_learner(file, [], [])
        if meta["file"] is not None and meta["file"]["kind"] != "missing":
            raise ExerciseError(file_failure(file, meta["file"], "en"))
        raise ExerciseError(f"{path}: OP = {name!r} is not an exercise; one of {', '.join(exercises)}")
    return file, exercises[name]


def check_file(path: str | os.PathLike, seed: int = 0, lang: str = "en", time_limit: float = TIME_LIMIT) -> Report:
    """Grade the backward of the exercise file at ``path`` on the exercise's cases (float64)."""
    check_seed(seed)
    check_lang(lang)
    file, exercise = read_op(path)
    rng = np.random.default_rng(seed)
    cases = exercise.cases(rng)
    answers = []  # bprop's (out, dout, grads) per case
    for case in cases:
        out, backward = exercise.reference(copies(case.inputs))
        dout = rng.standard_normal(np.shape(out)) if case.dout is None else np.float64(case.dout)
        answers.append((out, dout, backward(copies_of(dout))))
    meta, arrays = run_learner(file, cases, [dout for _, dout, _ in answers], lang, time_limit)
    if meta["file"] is not None:
        raise ExerciseError(file_failure(file, meta["file"], lang))
    report = Report(str(path), exercise, cases, [GradientResult(name) for name in exercise.grad_names])
    for k, (case, (out, dout, truths)) in enumerate(zip(cases, answers)):
        report.problem = grade_case(report, k, case, out, dout, truths, meta["cases"], arrays)
        if report.problem is not None:
            break
    if report.problem is None:
        add_numeric_errors(report, answers, arrays)
    return report


def file_failure(file: Path, failure: dict, lang: str) -> str:
    if failure["kind"] == "missing":
        return text("child.no_function", lang, path=file, name=failure["name"])
    what = (
        msg("child.exit", code=failure["code"])
        if failure["kind"] == "exit"
        else msg("child.raised", error=failure["error"])
    )
    return text("child.run_file", lang, path=file, error=what)


def grade_case(
    report: Report, k: int, case: Case, out: np.ndarray, dout: Any, truths: tuple, metas: list, arrays: dict
) -> Msg | None:
    """Grade case k into report.results; the problem that stops the grading, if any."""
    exercise = report.exercise
    number = k + 1
    meta = metas[k] if k < len(metas) else {}
    if "forward" in meta:
        return failure_msg("forward", meta["forward"], number)
    mine_out = arrays.get(f"c{k}.out")
    if mine_out is None or mine_out.shape != np.shape(out) or relative_error(mine_out.astype(float), out) > TOLERANCE:
        return msg("problem.forward_edited")
    if "backward" in meta:
        if meta["backward"]["kind"] == "not_implemented":
            return msg("problem.not_written")
        return failure_msg("backward", meta["backward"], number)
    names = ", ".join(exercise.grad_names)
    expected = len(exercise.wrt)
    kinds = meta["values"]
    if meta["returned"] == "none":
        return msg("problem.returned_none", names=names)
    if meta["returned"] == "single" and expected > 1:
        if kinds[0] == "array":
            return msg("problem.one_array", expected=expected, names=names)
        return msg("problem.not_sequence", type=kinds[0].partition(":")[2] or kinds[0], names=names)
    if len(kinds) != expected:
        return msg("problem.count", count=len(kinds), expected=expected, names=names)
    report.returned_list = report.returned_list or meta["returned"] == "list"
    batch = int(np.shape(case.inputs[exercise.wrt[0]])[0])
    mistakes = None
    for i, (result, truth) in enumerate(zip(report.results, truths)):
        mine = arrays.get(f"c{k}.g{i}")
        if kinds[i] == "array" and mine.shape == truth.shape:
            error = relative_error(mine.astype(np.float64), truth)
            if result.error_vs_bprop is not None:
                result.error_vs_bprop = max(result.error_vs_bprop, error)
            if error < TOLERANCE:
                continue
        else:
            result.error_vs_bprop = None
        if not result.ok:
            continue  # the first case it failed on gives the diagnosis
        if mistakes is None:
            mistakes = named_mistakes(exercise, case, dout)
        verdict = diagnose(mine, kinds[i], truth, mistakes.get(result.name, []), batch)
        if not verdict.ok:
            result.ok, result.diagnosis, result.case = False, verdict.diagnosis, number
    return None


def named_mistakes(exercise: Exercise, case: Case, dout: Any) -> dict:
    """The exercise's mistakes for this case, and for every op the backward that ignored dout
    (bprop's gradients for dout = 1)."""
    mistakes = exercise.mistakes(copies(case.inputs), copies_of(dout))
    scalar = np.ndim(dout) == 0
    ones = np.float64(1.0) if scalar else np.ones_like(dout)
    ignored = msg("d.ignored_dout_scalar", dout=float(dout)) if scalar else msg("d.ignored_dout")
    for name, gradient in zip(exercise.grad_names, exercise.reference(copies(case.inputs))[1](ones)):
        mistakes.setdefault(name, []).append((ignored, gradient))
    return mistakes


def failure_msg(what: str, failure: dict, number: int) -> Msg:
    if failure["kind"] == "exit":
        return msg("problem.sys_exit", what=what, code=failure["code"], k=number)
    return msg("problem.raised", what=what, error=failure["error"], k=number)


def add_numeric_errors(report: Report, answers: list, arrays: dict) -> None:
    """Each right-shaped gradient against centred differences of bprop's forward, on the first
    case without a kink (at a kink a difference quotient is not a derivative)."""
    smooth = [k for k, case in enumerate(report.cases) if not case.kinks]
    if not smooth:
        return
    k = smooth[0]
    inputs, dout = copies(report.cases[k].inputs), answers[k][1]
    for i, (result, wrt) in enumerate(zip(report.results, report.exercise.wrt)):
        mine = arrays.get(f"c{k}.g{i}")
        if mine is None or mine.shape != np.shape(inputs[wrt]):
            continue

        def loss() -> float:
            return float(np.sum(report.exercise.reference(inputs)[0] * dout))

        numeric = numerical_gradient(loss, inputs[wrt], eps=1e-6)
        result.error_vs_numeric = relative_error(mine.astype(np.float64), numeric)


def copies(inputs: dict[str, Any]) -> dict[str, Any]:
    """Fresh copies of the array inputs: nothing downstream may write into the originals."""
    return {k: copies_of(v) for k, v in inputs.items()}


def copies_of(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value
