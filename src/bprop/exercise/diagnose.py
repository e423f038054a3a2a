"""Name what is wrong with a learner's gradient, by comparing it with the true one.

Checks, in order: shape (a transposed result, a gradient not summed over the batch or over
positions), the exercise's named mistakes (a missing term, a forgotten factor), a transposed
square matrix, and a constant factor (a sign, a missing or extra 1/N, a factor 2). What none
of them explains is reported with its largest difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

TOLERANCE = 1e-6  # float64 inputs: a right answer agrees with bprop's to ~1e-12


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(1e-8, |a| + |b|) (cs231n's rel_error)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))


@dataclass
class Verdict:
    ok: bool
    diagnosis: str = ""


def diagnose(mine: Any, truth: np.ndarray, mistakes: Sequence[tuple[str, np.ndarray]], batch: int) -> Verdict:
    """Is ``mine`` the gradient ``truth``; if not, what went wrong (batch: N of the inputs)."""
    if mine is None:
        return Verdict(False, "returned None")
    try:
        mine = np.asarray(mine, dtype=np.float64)
    except (TypeError, ValueError):
        return Verdict(False, f"returned {type(mine).__name__}, not an array of numbers")
    if mine.shape != truth.shape:
        return Verdict(False, shape_diagnosis(mine, truth, mistakes, batch))
    if not np.all(np.isfinite(mine)):
        return Verdict(False, "contains NaN or inf")
    if relative_error(mine, truth) < TOLERANCE:
        return Verdict(True)
    for description, wrong in mistakes:
        if wrong.shape == mine.shape and relative_error(mine, wrong) < TOLERANCE:
            return Verdict(False, description)
    if mine.ndim == 2 and mine.shape[0] == mine.shape[1] and relative_error(mine.T, truth) < TOLERANCE:
        return Verdict(False, "transposed: the right numbers, rows and columns swapped")
    factor = scale_factor(mine, truth)
    if factor is not None:
        return Verdict(False, scale_message(factor, batch))
    worst = np.unravel_index(np.argmax(np.abs(mine - truth)), mine.shape)
    index = tuple(int(i) for i in worst)
    return Verdict(
        False,
        f"no known mistake matches; largest difference at {index}: yours {mine[worst]:.6g}, bprop's {truth[worst]:.6g}",
    )


def scale_factor(mine: np.ndarray, truth: np.ndarray) -> float | None:
    """c when mine = c·truth for one constant c ≠ 1 (least squares, then checked)."""
    norm = float(np.sum(truth * truth))
    if norm == 0.0:
        return None
    c = float(np.sum(mine * truth)) / norm
    return c if relative_error(mine, c * truth) < TOLERANCE and abs(c - 1) > TOLERANCE else None


def scale_message(c: float, batch: int) -> str:
    def near(target: float) -> bool:
        return abs(c - target) <= 1e-6 * max(1.0, abs(target))

    if near(-1):
        return "the sign is flipped"
    if batch > 1 and near(batch):
        return f"{batch}× too large: a missing 1/N (N = {batch}, the batch size; the loss is a mean)"
    if batch > 1 and near(1 / batch):
        return f"{batch}× too small: an extra 1/N (N = {batch}, the batch size)"
    if near(2) or near(0.5):
        return f"off by a factor {2 if near(2) else 0.5:g} (a square's 2, or a term counted twice)"
    return f"the right direction but {c:.4g}× the size: a wrong constant factor"


def summed_axes(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axes of ``shape`` to sum so that the rest is ``target`` (target's sizes kept in order)."""
    axes, k = [], 0
    for i, n in enumerate(shape):
        if k < len(target) and n == target[k]:
            k += 1
        else:
            axes.append(i)
    return tuple(axes) if k == len(target) and axes else None


def shape_diagnosis(mine: np.ndarray, truth: np.ndarray, mistakes: Sequence[tuple[str, np.ndarray]], batch: int) -> str:
    expected = f"expected shape {truth.shape}, got {mine.shape}"
    if mine.ndim == 2 and mine.shape == truth.shape[::-1] and relative_error(mine.T, truth) < TOLERANCE:
        return f"transposed ({expected}): swap the operands of the product, or transpose it"
    for description, wrong in mistakes:
        if wrong.shape == mine.shape and relative_error(mine, wrong) < TOLERANCE:
            return f"{description} ({expected})"
    axes = summed_axes(mine.shape, truth.shape)
    if axes is not None:
        total = mine.sum(axis=axes).reshape(truth.shape)
        where = (
            "the batch (axis 0)"
            if axes == (0,)
            else f"axes {axes}" + (", the batch and the positions" if 0 in axes else "")
        )
        if relative_error(total, truth) < TOLERANCE:
            return f"missing a sum over {where} ({expected}): the parameter is shared, so its gradient adds every use"
        factor = scale_factor(total, truth)
        if factor is not None:
            return f"missing a sum over {where} ({expected}), and then {scale_message(factor, batch)}"
    return f"wrong shape: {expected} (a gradient has the shape of its input)"
