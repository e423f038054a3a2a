"""The library-wide random generator: weight init, dropout masks, randn/rand, shuffling.

One NumPy ``Generator`` serves everything so that ``bp.manual_seed(s)`` makes a whole run
repeatable, and its state is a plain dict of ints and strings, so checkpoints can store it
without pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator (like ``torch.manual_seed``) and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict[str, Any]:
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    _generator.bit_generator.state = state
