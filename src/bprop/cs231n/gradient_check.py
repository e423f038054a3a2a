"""The course's numerical gradients and relative error (centred differences, as bprop.gradcheck).

These nudge one entry of ``x`` in place at a time, as the course's do, so a model's ``params``
arrays can be checked through ``lambda _: model.loss(X, y)[0]``.
"""

from __future__ import annotations

from random import randrange
from typing import Callable

import numpy as np

from bprop.gradient_check import numerical_gradient


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """max |x − y| / max(1e-8, |x| + |y|): the notebooks' relative error."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True, h: float = 1e-5
) -> np.ndarray:
    """∂f/∂x for a scalar f(x), by (f(x + h) − f(x − h))/2h entry by entry."""

    def value() -> float:
        return float(f(x))

    grad = numerical_gradient(value, x, eps=h)
    if verbose:
        for index in np.ndindex(x.shape):
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """The vector–Jacobian product Σ df ⊙ ∂f(x)/∂x for an array-valued f, numerically."""
    return numerical_gradient(lambda: float(np.sum(f(x) * df)), x, eps=h)


def grad_check_sparse(
    f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray, num_checks: int = 10, h: float = 1e-5
) -> list[float]:
    """Compare ``analytic_grad`` with the centred difference at ``num_checks`` random entries
    (Python's ``random``, as the course); prints each and returns the relative errors."""
    errors = []
    for _ in range(num_checks):
        index = tuple(randrange(n) for n in x.shape)
        original = x[index]
        x[index] = original + h
        plus = float(f(x))
        x[index] = original - h
        minus = float(f(x))
        x[index] = original
        numeric = (plus - minus) / (2 * h)
        analytic = analytic_grad[index]
        error = abs(numeric - analytic) / (abs(numeric) + abs(analytic) + 1e-300)
        print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")
        errors.append(error)
    return errors
