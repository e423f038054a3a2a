"""Checkpoints: everything a run needs to continue exactly, in one bp.save file (no pickle).

Model and optimizer state, the scheduler, the global RNG and the data loader's shuffling
generator (and its position in an epoch stopped part-way, with that epoch's running sums), the
epoch and step counters, the history and the callbacks' state, and the thread count (bprop splits
work by it). Restoring all of them is what makes a resumed run bit-identical to an uninterrupted
one.
"""

from __future__ import annotations

import os
from typing import Any

from bprop.random import get_rng_state, set_rng_state
from bprop.runtime import get_num_threads
from bprop.serialization import load, save


def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    loader: Any = None,
    history: Any = None,
    epoch: int = 0,
    step: int = 0,
    config: dict[str, Any] | None = None,
    callbacks: dict[str, Any] | None = None,
    partial_epoch: dict[str, Any] | None = None,
) -> None:
    """Write the training state to ``path`` atomically (see bp.save): a crash mid-write leaves
    the previous checkpoint intact."""
    state = {
        "format": "bprop-checkpoint-1",
        "model": dict(model.state_dict()),
        "epoch": epoch,
        "step": step,
        "rng": get_rng_state(),
        "config": config or {},
        "callbacks": callbacks or {},
        "partial_epoch": partial_epoch or {},
        "threads": get_num_threads(),  # bprop splits work by it: a resumed run needs it for the same bits
    }
    for name, part in (("optimizer", optimizer), ("scheduler", scheduler), ("loader", loader), ("history", history)):
        if part is not None:
            state[name] = part.state_dict()
    save(state, path)


def load_checkpoint(
    path: str | os.PathLike,
    model: Any = None,
    optimizer: Any = None,
    scheduler: Any = None,
    loader: Any = None,
    history: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Load ``path`` into the given objects (each optional) and return the raw checkpoint."""
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != "bprop-checkpoint-1":
        raise ValueError(f"{path} is not a bprop checkpoint")
    if model is not None:
        model.load_state_dict(state["model"])
    for name, part in (("optimizer", optimizer), ("scheduler", scheduler), ("loader", loader), ("history", history)):
        if part is not None and name in state:
            part.load_state_dict(state[name])
    if restore_rng:
        set_rng_state(state["rng"])
    return state
