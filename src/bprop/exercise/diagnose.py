"""Name what is wrong with a learner's gradient, by comparing it with the true one.

Checks, in order: what came back (None, not numbers, integers), shape (the right numbers kept
with keepdims, a transposed result, a gradient not summed over the batch or over positions),
the exercise's named mistakes (a missing term, a forgotten factor, a kink's wrong side), a
transposed square matrix, and a constant factor (a sign, a missing or extra 1/N, a factor 2).
What none of them explains is reported with its largest difference. Every diagnosis is a Msg
of the en/zh catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bprop.i18n import Msg, msg

TOLERANCE = 1e-6  # float64 inputs: a right answer agrees with bprop's to ~1e-12


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(1e-8, |a| + |b|) (cs231n's rel_error)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))


@dataclass
class Verdict:
    ok: bool
    diagnosis: Msg | None = None


def matches(mine: np.ndarray, wrong: np.ndarray) -> bool:
    return wrong.shape == mine.shape and relative_error(mine, wrong) < TOLERANCE


def diagnose(
    mine: np.ndarray | None, kind: str, truth: np.ndarray, mistakes: Sequence[tuple[Msg, np.ndarray]], batch: int
) -> Verdict:
    """Is ``mine`` the gradient ``truth``; if not, what went wrong. ``kind`` says how the value
    came back ("array", "none", "other:TYPE"); batch is N of the inputs."""
    if kind == "none" or (mine is None and kind == "array"):
        return Verdict(False, msg("d.none"))
    if mine is None:
        return Verdict(False, msg("d.not_numbers", type=kind.partition(":")[2]))
    dtype = mine.dtype
    mine = mine.astype(np.float64)
    if mine.shape != truth.shape:
        return Verdict(False, shape_diagnosis(mine, truth, mistakes, batch))
    if not np.all(np.isfinite(mine)):
        return Verdict(False, msg("d.nan"))
    if relative_error(mine, truth) < TOLERANCE:
        return Verdict(True)
    for description, wrong in mistakes:
        if matches(mine, wrong):
            return Verdict(False, description)
    if dtype.kind in "biu":
        return Verdict(False, msg("d.integers", dtype=str(dtype)))
    if mine.ndim == 2 and mine.shape[0] == mine.shape[1] and relative_error(mine.T, truth) < TOLERANCE:
        return Verdict(False, msg("d.transposed"))
    factor = scale_factor(mine, truth)
    if factor is not None:
        return Verdict(False, scale_message(factor, batch))
    worst = np.unravel_index(np.argmax(np.abs(mine - truth)), mine.shape)
    index = tuple(int(i) for i in worst)
    return Verdict(False, msg("d.unknown", index=index, mine=f"{mine[worst]:.6g}", truth=f"{truth[worst]:.6g}"))


def scale_factor(mine: np.ndarray, truth: np.ndarray) -> float | None:
    """c when mine = c·truth for one constant c ≠ 1 (least squares, then checked)."""
    norm = float(np.sum(truth * truth))
    if norm == 0.0:
        return None
    c = float(np.sum(mine * truth)) / norm
    return c if relative_error(mine, c * truth) < TOLERANCE and abs(c - 1) > TOLERANCE else None


def scale_message(c: float, batch: int) -> Msg:
    def near(target: float) -> bool:
        return abs(c - target) <= 1e-6 * max(1.0, abs(target))

    if near(-1):
        return msg("d.sign")
    if c < 0:
        return msg("d.opposite", factor=f"{c:.4g}")
    if batch > 1 and near(batch):
        return msg("d.missing_mean", n=batch)
    if batch > 1 and near(1 / batch):
        return msg("d.extra_mean", n=batch)
    if near(2) or near(0.5):
        return msg("d.factor2", factor=f"{2 if near(2) else 0.5:g}")
    return msg("d.factor", factor=f"{c:.4g}")


def summed_axes(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axes of ``shape`` to sum so that the rest is ``target`` (target's sizes kept in order)."""
    axes, k = [], 0
    for i, n in enumerate(shape):
        if k < len(target) and n == target[k]:
            k += 1
        else:
            axes.append(i)
    return tuple(axes) if k == len(target) and axes else None


def shape_diagnosis(mine: np.ndarray, truth: np.ndarray, mistakes: Sequence[tuple[Msg, np.ndarray]], batch: int) -> Msg:
    shapes = msg("d.shapes", expected=truth.shape, got=mine.shape)
    for description, wrong in mistakes:
        if matches(mine, wrong):
            return msg("d.with_shape", diagnosis=description, shapes=shapes)
    if mine.size == truth.size and relative_error(mine.reshape(truth.shape), truth) < TOLERANCE:
        if [n for n in mine.shape if n != 1] == [n for n in truth.shape if n != 1]:
            return msg("d.keepdims", got=mine.shape, expected=truth.shape)
    if mine.ndim == 2 and mine.shape == truth.shape[::-1] and relative_error(mine.T, truth) < TOLERANCE:
        return msg("d.transposed_shape", shapes=shapes)
    axes = summed_axes(mine.shape, truth.shape)
    if axes is not None:
        total = mine.sum(axis=axes).reshape(truth.shape)
        if axes == (0,):
            where = msg("d.where_batch")
        elif 0 in axes:
            where = msg("d.where_batch_positions", axes=axes)
        else:
            where = msg("d.where_axes", axes=axes)
        if relative_error(total, truth) < TOLERANCE:
            return msg("d.missing_sum", where=where, shapes=shapes)
        factor = scale_factor(total, truth)
        if factor is not None:
            return msg("d.missing_sum_then", where=where, shapes=shapes, scale=scale_message(factor, batch))
    return msg("d.wrong_shape", shapes=shapes)
