"""Run a learner's exercise file and grade its backward, gradient by gradient."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bprop.exercise.catalog import Exercise, registry
from bprop.exercise.diagnose import TOLERANCE, diagnose, relative_error
from bprop.gradient_check import numerical_gradient


class ExerciseError(Exception):
    """A mistake in how the exercise was asked for (unknown op, missing or unreadable file):
    the CLI prints it as one line and exits 2."""


@dataclass
class GradientResult:
    name: str
    ok: bool
    error_vs_bprop: float | None
    error_vs_numeric: float | None
    diagnosis: str = ""


@dataclass
class Report:
    path: str
    exercise: Exercise
    inputs: dict[str, Any]
    results: list[GradientResult] = field(default_factory=list)
    problem: str = ""  # what stopped the grading before the gradients (not written, raised, …)

    @property
    def ok(self) -> bool:
        return not self.problem and all(r.ok for r in self.results)

    def format(self) -> str:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in self.inputs.items() if isinstance(v, np.ndarray))
        lines = [f"{self.path}: {self.exercise.title}, random inputs {shapes}"]
        if self.problem:
            return "\n".join([*lines, f"  {self.problem}"])
        width = max(len(r.name) for r in self.results)
        for r in self.results:
            errors = (
                "shape differs"
                if r.error_vs_bprop is None
                else (f"rel. error {r.error_vs_bprop:.1e} vs bprop, {r.error_vs_numeric:.1e} vs finite differences")
            )
            lines.append(f"  {r.name:<{width}}  {'ok   ' if r.ok else 'WRONG'}  {errors}")
            if r.diagnosis:
                lines.append(f"  {'':<{width}}         {r.diagnosis}")
        wrong = sum(not r.ok for r in self.results)
        total = len(self.results)
        lines.append(f"all {total} gradients right" if not wrong else f"{wrong} of {total} gradients wrong")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import report_html

        return report_html(self)


def load(path: str | os.PathLike) -> tuple[Exercise, dict[str, Any]]:
    """The exercise a file is for and the file's namespace (forward, backward, …)."""
    file = Path(path)
    if file.is_dir():
        raise ExerciseError(f"{path} is a folder: give the .py file that bprop exercise wrote")
    if not file.is_file():
        raise ExerciseError(f"{path}: no such file (write one with: bprop exercise OP --out {path})")
    try:
        source = file.read_text(encoding="utf-8")
        code = compile(source, str(file), "exec")
    except SyntaxError as err:
        raise ExerciseError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ExerciseError(f"{path}: cannot read it as a Python file: {err}") from None
    namespace: dict[str, Any] = {"__name__": "bprop_exercise", "__file__": str(file)}
    try:
        exec(code, namespace)  # the learner's own file, run as `python FILE` would run it
    except (Exception, SystemExit) as err:
        raise ExerciseError(f"{path}: {_raised('running the file', err)}") from None
    exercises = registry()
    name = namespace.get("OP")
    if name not in exercises:
        raise ExerciseError(f"{path}: OP = {name!r} is not an exercise; one of {', '.join(exercises)}")
    for function in ("forward", "backward"):
        if not callable(namespace.get(function)):
            raise ExerciseError(f"{path}: defines no function {function}(...); the exercise needs forward and backward")
    return exercises[name], namespace


def _raised(what: str, err: BaseException) -> str:
    """What the learner's code did instead of returning; sys.exit() included, which would
    otherwise end `bprop check` itself with status 0 and no report."""
    if isinstance(err, SystemExit):
        return f"{what} called sys.exit({err.code!r})"
    return f"{what} raised {type(err).__name__}: {err}"


def check_file(path: str | os.PathLike, seed: int = 0) -> Report:
    """Grade the backward of the exercise file at ``path`` on random inputs (float64)."""
    exercise, namespace = load(path)
    forward: Callable = namespace["forward"]
    backward: Callable = namespace["backward"]
    rng = np.random.default_rng(seed)
    inputs = exercise.make_inputs(rng)
    report = Report(str(path), exercise, inputs)
    try:
        out, cache = forward(**copies(inputs))
    except (Exception, SystemExit) as err:
        report.problem = _raised("forward", err)
        return report
    dout = rng.standard_normal(np.shape(out))
    ref_out, ref_grads = exercise.reference(copies(inputs), dout)
    if np.shape(out) != np.shape(ref_out) or relative_error(np.asarray(out), np.asarray(ref_out)) > TOLERANCE:
        report.problem = "forward no longer computes the op (it was edited?): restore it, only backward is yours"
        return report
    try:
        grads = backward(dout, cache)
    except NotImplementedError:
        report.problem = "backward is not written yet (it raises NotImplementedError)"
        return report
    except (Exception, SystemExit) as err:
        report.problem = _raised("backward", err)
        return report
    expected = len(exercise.wrt)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != expected:
        names = ", ".join(exercise.grad_names)
        report.problem = f"backward returned {len(grads)} value(s); it should return {expected}: {names}"
        return report
    mistakes = exercise.mistakes(copies(inputs), dout)
    batch = int(np.shape(inputs[exercise.wrt[0]])[0])
    for name, wrt, mine, truth in zip(exercise.grad_names, exercise.wrt, grads, ref_grads):
        verdict = diagnose(mine, truth, mistakes.get(name, []), batch)
        same_shape = mine is not None and np.shape(mine) == truth.shape
        numeric = numerical(forward, inputs, wrt, dout) if same_shape else None
        report.results.append(
            GradientResult(
                name,
                verdict.ok,
                relative_error(np.asarray(mine, dtype=np.float64), truth) if same_shape else None,
                relative_error(np.asarray(mine, dtype=np.float64), numeric) if same_shape else None,
                verdict.diagnosis,
            )
        )
    return report


def copies(inputs: dict[str, Any]) -> dict[str, Any]:
    """Fresh copies of the array inputs: a learner's forward or backward may write into them."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def numerical(forward: Callable, inputs: dict[str, Any], wrt: str, dout: np.ndarray) -> np.ndarray:
    """∂(Σ dout·forward)/∂inputs[wrt] by centred differences of the file's own forward."""
    args = copies(inputs)
    return numerical_gradient(lambda: float(np.sum(forward(**args)[0] * dout)), args[wrt], eps=1e-6)
