"""Callbacks of the fit loop (Keras-style): called before training, after each step, after
each epoch and when training ends.

A callback sees the Trainer (model, optimizer, history…) and may set ``trainer.stop`` to a
reason to end training after this epoch. A callback that keeps state across epochs (a best
value, a patience count) implements state_dict/load_state_dict, and checkpoints carry it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from bprop.profiler import profile
from bprop.serialization import atomic_write_bytes


class Callback:
    every_rank = False  # under data parallelism: True runs it on every rank, False on rank 0 only

    def on_setup(self, trainer: Any) -> None:
        """Called once when ``fit`` has built the trainer, before a checkpoint is resumed; may
        replace ``trainer.loader`` or its callbacks (data parallelism shards and drops them)."""

    def on_train_begin(self, trainer: Any) -> None:
        """Called once before the first (or first resumed) epoch."""

    def on_backward_end(self, trainer: Any) -> None:
        """Called after each backward, before the gradient is checked and the step taken
        (data parallelism averages the gradients here)."""

    def on_batch_end(self, trainer: Any) -> None:
        """Called after each optimizer step, gradients still in place."""

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        """Called after each epoch with that epoch's metrics."""

    def on_train_end(self, trainer: Any) -> None:
        """Called once when training stops for any reason but an error, also part-way through an
        epoch (time limit, gradient tolerance, Ctrl-C); ``trainer.mid_epoch`` tells."""

    def state_dict(self) -> dict[str, Any]:
        """What the callback has learnt so far (a best value, a patience count…)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()``; callbacks that override this have their state saved in
        checkpoints, so that a resumed run carries on with it."""


def _better(mode: str, value: float, best: float, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto"):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: metric {self.monitor!r} is not logged; available: {sorted(logs)}")
        if _better(self.mode, logs[self.monitor], self.best, self.min_delta):
            self.best, self.wait = logs[self.monitor], 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            epochs = f"{self.patience} epoch{'s' if self.patience != 1 else ''}"
            trainer.stop = f"early stopping: {self.monitor} did not improve for {epochs}"

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = float(state["best"]), int(state["wait"])


class ModelCheckpoint(Callback):
    """Write ``last.npz`` (the full training state, for resuming) after every epoch and
    ``best.npz`` whenever ``monitor`` improves; both atomically, with ``config`` (a dict). ``monitor`` defaults to
    "val_loss" when there is validation data and to the training "loss" otherwise."""

    def __init__(
        self,
        directory: str | os.PathLike,
        monitor: str | None = None,
        mode: str = "auto",
        save_best: bool = True,
        save_last: bool = True,
        config: dict[str, Any] | None = None,
    ):
        self.directory = Path(directory)
        self.config = config  # stored in each checkpoint (``run`` stores its RunConfig there)
        self.monitor, self.mode = monitor, mode
        self.save_best, self.save_last = save_best, save_last
        self.best: float | None = None

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if self.save_best:
            if self.monitor is None:
                self.monitor = "val_loss" if "val_loss" in logs else "loss"
            if self.monitor not in logs:
                raise KeyError(f"ModelCheckpoint: metric {self.monitor!r} is not logged; available: {sorted(logs)}")
            mode = _mode_for(self.monitor, self.mode)
            if self.best is None or _better(mode, logs[self.monitor], self.best, 0.0):
                self.best = logs[self.monitor]
                trainer.save_checkpoint(self.directory / "best.npz", self.config)
        if self.save_last:  # after best.npz, so that the state saved holds the new best value
            trainer.save_checkpoint(self.directory / "last.npz", self.config)

    def on_train_end(self, trainer: Any) -> None:
        """A run stopped part-way through an epoch saves that exact state, to resume mid-epoch."""
        if self.save_last and trainer.mid_epoch:
            trainer.save_checkpoint(self.directory / "last.npz", self.config)

    def state_dict(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.monitor, self.best = state["monitor"], state["best"]


class CSVLogger(Callback):
    """Rewrite ``path`` after every epoch with one row per epoch so far."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        rows = trainer.history.epochs
        fields = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.path, buffer.getvalue().encode())


class JSONLogger(Callback):
    """Rewrite ``path`` after every epoch with the history as JSON."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        atomic_write_bytes(self.path, json.dumps(trainer.history.state_dict(), indent=1).encode())


class ProfileFirstEpoch(Callback):
    """``bprop train --profile``: records the first epoch (or the first epoch of a resumed run)
    with ``bp.profile`` and prints its per-op table when the epoch ends, or when training stops
    before that. Times only by default; ``memory=True`` (``--profile-memory``) also records each
    op's memory with tracemalloc, whose bookkeeping inflates the times. ``close()`` ends the
    recording without printing (after an error)."""

    def __init__(self, memory: bool = False) -> None:
        self.memory = memory
        self.recording: profile | None = None

    def on_train_begin(self, trainer: Any) -> None:
        self.recording = profile(memory=self.memory)
        self.recording.__enter__()

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        self._print_table("the first epoch")

    def on_train_end(self, trainer: Any) -> None:
        self._print_table("the steps before training stopped")

    def _print_table(self, what: str) -> None:
        recording = self.recording
        if recording is None:
            return
        self.close()
        kind = "time and memory" if self.memory else "time"
        print(f"per-op {kind} profile of {what} (bp.profile; the README explains the columns):\n{recording.table()}")

    def close(self) -> None:
        if self.recording is not None:
            self.recording.__exit__(None, None, None)
            self.recording = None
