"""The adding problem (Hochreiter & Schmidhuber 1997): a synthetic test of long-range memory.

Each sample is a sequence of T steps with two features: a random value in [0, 1), and a marker
that is 1 at exactly two steps — one in the first half, one in the second — and 0 elsewhere. The
target is the sum of the two marked values. Predicting the mean, 1, scores a mean squared error
of Var(u₁ + u₂) = 2/12 ≈ 0.167 ("chance"); doing better means carrying the first marked value
across at least T/2 steps, which a plain RNN's vanishing gradient prevents for long T.
"""

from __future__ import annotations

import numpy as np

CHANCE_MSE = 2 / 12


def adding_problem(samples: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x (samples, length, 2) float32 and y (samples,) float32."""
    if length < 2:
        raise ValueError(f"adding problem: length must be at least 2, got {length}")
    values = rng.random((samples, length))
    markers = np.zeros((samples, length))
    rows = np.arange(samples)
    first = rng.integers(0, length // 2, samples)
    second = rng.integers(length // 2, length, samples)
    markers[rows, first] = markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return x, (values[rows, first] + values[rows, second]).astype(np.float32)
