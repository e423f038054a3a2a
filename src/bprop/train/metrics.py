"""Classification metrics on NumPy arrays (scores (N, C) or predicted labels (N,))."""

from __future__ import annotations

import re
from functools import partial
from typing import Callable

import numpy as np


def _labels(pred: np.ndarray) -> np.ndarray:
    pred = np.asarray(pred)
    return pred.argmax(axis=1) if pred.ndim == 2 else pred


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Fraction of samples whose predicted class (argmax of scores) equals the target."""
    target = np.asarray(target)
    return float(np.mean(_labels(pred) == target)) if len(target) else 0.0


def top_k_accuracy(scores: np.ndarray, target: np.ndarray, k: int = 5) -> float:
    """Fraction of samples whose target is among the k highest scores."""
    scores, target = np.asarray(scores), np.asarray(target)
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean((top == target[:, None]).any(axis=1))) if len(target) else 0.0


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as j."""
    target, labels = np.asarray(target, dtype=np.int64), _labels(pred).astype(np.int64)
    n = num_classes or int(max(target.max(initial=0), labels.max(initial=0)) + 1)
    return np.bincount(target * n + labels, minlength=n * n).reshape(n, n)


def precision_recall_f1(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision TP/(TP+FP), recall TP/(TP+FN) and their harmonic mean F1 (0 where undefined)."""
    tp = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / confusion.sum(axis=0))
        recall = np.nan_to_num(tp / confusion.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return {"precision": precision, "recall": recall, "f1": f1, "support": confusion.sum(axis=1)}


Metric = Callable[[np.ndarray, np.ndarray], float]


def get_metric(metric: str | Metric) -> tuple[str, Metric]:
    """(name, f(scores, targets) -> float) for "accuracy", "topK_accuracy" (e.g. "top5_accuracy")
    or a callable of that signature, which is named by its ``__name__``."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if metric == "accuracy":
        return metric, accuracy
    match = re.fullmatch(r"top(\d+)_accuracy", metric)
    if match and int(match.group(1)) > 0:
        return metric, partial(top_k_accuracy, k=int(match.group(1)))
    raise ValueError(
        f"unknown metric {metric!r}: use 'accuracy', 'topK_accuracy' (e.g. 'top5_accuracy') "
        "or a function f(scores, targets) -> float"
    )
