"""Callbacks of the fit loop (Keras-style): called at the start and at the end of each epoch.

A callback sees the Trainer (model, optimizer, history…) and may set ``trainer.stop`` to a
reason to end training after this epoch.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from bprop.serialization import atomic_write_bytes


class Callback:
    def on_train_begin(self, trainer: Any) -> None:
        """Called once before the first (or first resumed) epoch."""

    def on_batch_end(self, trainer: Any) -> None:
        """Called after each optimizer step, gradients still in place."""

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        """Called after each epoch with that epoch's metrics."""


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
            trainer.stop = f"early stopping: {self.monitor} did not improve for {self.patience} epochs"


class ModelCheckpoint(Callback):
    """Write ``last.npz`` (full training state, for --resume) after every epoch and ``best.npz``
    whenever ``monitor`` improves. Both are written atomically."""

    def __init__(self, directory: str | os.PathLike, monitor: str = "val_loss", mode: str = "auto",
                 save_best: bool = True, save_last: bool = True):
        self.directory = Path(directory)
        self.monitor, self.mode = monitor, _mode_for(monitor, mode)
        self.save_best, self.save_last = save_best, save_last
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if self.save_last:
            trainer.save_checkpoint(self.directory / "last.npz")
        value = logs.get(self.monitor)
        if self.save_best and value is not None and _better(self.mode, value, self.best, 0.0):
            self.best = value
            trainer.save_checkpoint(self.directory / "best.npz")


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
