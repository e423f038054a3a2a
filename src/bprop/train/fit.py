"""The fit loop: epochs of (forward, loss, backward, step) with the notes' stopping rules —
maximum epochs and "loss small enough" — plus a gradient-norm tolerance, and the faults a long
run meets:

- a loss or gradient that is not finite stops training before the step that would write it
  into the weights (``DivergenceError``), so the model and every checkpoint stay finite;
- a run stopped mid-epoch (time limit, gradient tolerance, Ctrl-C) resumes mid-epoch exactly.

What is not training proper comes as callbacks that ``fit`` adds (train/fit_callbacks.py):
data parallelism over MPI ranks, the time limit, and Ctrl-C (or SIGTERM, SIGHUP) taken at the
next step boundary, after which the callbacks' ``on_train_end`` runs (the checkpoint callback
saves the exact mid-epoch state there) and ``Interrupted`` (a KeyboardInterrupt) is raised.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Sequence

import numpy as np

from bprop.data import DataLoader
from bprop.nn import CrossEntropyLoss, Module
from bprop.optim import Adam, Optimizer
from bprop.tensor import Tensor
from bprop.train import metrics as M
from bprop.train.callbacks import Callback
from bprop.train.checkpoint import load_checkpoint, save_checkpoint
from bprop.train.evaluate import MetricSpec, as_loader, evaluate, is_classification, predict, validate
from bprop.train.fit_callbacks import DataParallel, StopOnSignal, TimeLimit
from bprop.train.history import History
from bprop.train.progress import Progress

STOP_KINDS = ("signal", "time")  # what a step's stop votes are about, one sum over ranks each


class DivergenceError(ArithmeticError):
    """The loss or the gradient became NaN or infinite; no step was taken with it."""


class Interrupted(KeyboardInterrupt):
    """Training stopped at a step boundary on a signal (Ctrl-C, SIGTERM…), on every rank at the
    same step, after the callbacks' ``on_train_end`` (the checkpoint is saved)."""

    def __init__(self, reason: str, signum: int | None):
        super().__init__(reason)
        self.signum = signum


class Trainer:
    """State of one training run; ``fit`` is the usual entry point."""

    def __init__(
        self,
        model: Module,
        loader: DataLoader,
        loss: Callable,
        optimizer: Optimizer,
        scheduler: Any = None,
        callbacks: Sequence[Callback] = (),
        metrics: Sequence[MetricSpec] | None = None,
    ):
        self.model, self.loader, self.loss, self.optimizer = model, loader, loss, optimizer
        self.scheduler = scheduler
        self.set_callbacks(callbacks)
        self.quiet = False  # no progress output
        # None: "accuracy" if the first batch turns out to be a classification one, else nothing
        self.metrics = None if metrics is None else [M.get_metric(m) for m in metrics]
        self.history = History()
        self.epoch = self.step = 0
        self.stop = ""
        self.grad_tol: float | None = None
        # sums over the step's or epoch's values; over every rank under DataParallel
        self.reduce_sum: Callable[[list[float]], list[float]] = lambda values: values
        self.requests: dict[str, str] = {}  # stop votes of this process (kind: reason), see request_stop
        self.interrupted = False  # a signal stopped training: fit raises Interrupted at the end
        self.signum: int | None = None
        # the running sums of an epoch stopped part-way, carried in checkpoints for exact resumption
        self.partial: dict[str, Any] = {}

    def set_callbacks(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = list(callbacks)
        # only callbacks that override a per-step hook are called per step: none costs nothing
        self.batch_callbacks = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        self.backward_callbacks = [cb for cb in callbacks if type(cb).on_backward_end is not Callback.on_backward_end]

    @property
    def mid_epoch(self) -> bool:
        """True when training stopped part-way through an epoch (``self.epoch`` is not finished)."""
        return self.loader.mid_epoch

    def request_stop(self, kind: str, reason: str, signum: int | None = None) -> None:
        """Ask to stop after the current step (``kind`` is one of STOP_KINDS); the votes of all
        ranks are summed with the step's loss, so every rank stops at the same step."""
        self.requests.setdefault(kind, reason)
        self.signum = self.signum if signum is None else signum

    def save_checkpoint(self, path: str | os.PathLike, config: dict[str, Any] | None = None) -> None:
        save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            self.loader,
            self.history,
            epoch=self.epoch,
            step=self.step,
            config=config,
            callbacks={key: cb.state_dict() for key, cb in self._stateful_callbacks()},
            partial_epoch=self.partial if self.mid_epoch else {},
        )

    def resume(self, path: str | os.PathLike) -> None:
        state = load_checkpoint(path, self.model, self.optimizer, self.scheduler, self.loader, self.history)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.partial = dict(state.get("partial_epoch", {}))
        saved = state.get("callbacks", {})
        for key, cb in self._stateful_callbacks():
            if key in saved:
                cb.load_state_dict(saved[key])

    def _stateful_callbacks(self) -> list[tuple[str, Callback]]:
        """Callbacks that can restore a state (best value so far, patience…), keyed by position."""
        return [
            (f"{i}_{type(cb).__name__}", cb)
            for i, cb in enumerate(self.callbacks)
            if type(cb).load_state_dict is not Callback.load_state_dict
        ]

    def data_loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.model(x)
        loss = self.loss(scores, y)
        penalty = getattr(self.model, "regularization", None)
        return scores, (loss + penalty() if callable(penalty) else loss)

    def batch_metrics(self, scores: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        if self.metrics is None:
            self.metrics = [M.get_metric("accuracy")] if is_classification(scores, targets) else []
        return {name: float(fn(scores, targets)) for name, fn in self.metrics}

    def grad_norm(self) -> float:
        """The global gradient norm √(Σ‖g‖²) over all parameters, as torch's clip_grad_norm_ measures it."""
        total = 0.0
        for p in self.model.parameters():
            if p.grad is not None:
                flat = np.asarray(p.grad).reshape(-1)
                total += float(np.dot(flat, flat))
        return math.sqrt(total)

    def train_step(self, x: Tensor, y: Tensor) -> tuple[float, float, dict[str, float]]:
        """One optimizer step; returns (loss, gradient norm, batch metrics). Raises
        DivergenceError, before stepping, when the loss or the gradient is not finite."""
        self.optimizer.zero_grad()
        scores, loss = self.data_loss(x, y)
        loss.backward()
        for cb in self.backward_callbacks:  # DataParallel averages the gradients: every rank sees one norm
            cb.on_backward_end(self)
        value, norm = loss.item(), self.grad_norm()
        # one sum over ranks: the losses, so that every rank reaches the same verdict, and the stop votes
        total, *votes = self.reduce_sum([value, *(float(kind in self.requests) for kind in STOP_KINDS)])
        if not (math.isfinite(total) and math.isfinite(norm)):
            what = f"loss is {value}" if not math.isfinite(value) else f"gradient norm is {norm}"
            raise DivergenceError(
                f"training diverged at epoch {self.epoch + 1}, step {self.step + 1}: the {what}, so no step "
                "was taken with it; lower the learning rate or check the data for extreme values"
            )
        self.optimizer.step()
        self.step += 1
        self._agree_on_stop(dict(zip(STOP_KINDS, votes)), norm)
        return value, norm, self.batch_metrics(np.asarray(scores), np.asarray(y))

    def _agree_on_stop(self, votes: dict[str, float], norm: float) -> None:
        """Why to stop after this step (``self.stop``), the same on every rank."""
        where = f"step {self.loader._position} of {len(self.loader)} of epoch {self.epoch + 1}"
        if self.grad_tol is not None and norm < self.grad_tol:  # the same norm on every rank
            self.stop = self.stop or f"gradient norm {norm:.3g} fell below grad_tol {self.grad_tol:g} at {where}"
        if votes["signal"]:
            self.interrupted = True
            self.stop = self.stop or f"{self.requests.get('signal', 'interrupted (on another rank)')} after {where}"
        if votes["time"]:
            self.stop = self.stop or f"time limit reached after {where}"

    def train_epoch(self, epochs: int) -> dict[str, float]:
        """One pass over the loader (or the rest of one stopped part-way); the logs hold
        sample-weighted means of the batches' loss and metrics."""
        self.model.train()
        if getattr(self.loader.sampler, "set_epoch", None):
            self.loader.sampler.set_epoch(self.epoch)
        progress = Progress(len(self.loader), self.epoch + 1, epochs, self.quiet)
        partial, self.partial = self.partial, {}
        total_loss, seen = partial.get("loss", 0.0), partial.get("seen", 0.0)
        sums: dict[str, float] = dict(partial.get("sums", {}))
        start = time.perf_counter() - partial.get("seconds", 0.0)
        for x, y in self.loader:
            step_start = time.perf_counter()
            value, norm, measured = self.train_step(x, y)
            for cb in self.batch_callbacks:
                cb.on_batch_end(self)
            n = len(x)
            total_loss += value * n
            seen += n
            for name, v in measured.items():
                sums[name] = sums.get(name, 0.0) + v * n
            now = time.perf_counter()
            self.history.steps.append(
                {"step": self.step, "loss": value, **measured, "grad_norm": norm, "seconds": now - step_start}
            )
            progress.update(
                loss=total_loss / seen, **{k: s / seen for k, s in sums.items()}, samples_per_s=seen / (now - start)
            )
            if self.stop:
                break
        if self.loader.mid_epoch:  # stopped part-way: keep the sums so that a resumed epoch adds to them
            self.partial = {"loss": total_loss, "seen": seen, "sums": sums, "seconds": time.perf_counter() - start}
        total_loss, seen, *values = self.reduce_sum([total_loss, seen, *sums.values()])
        sums = dict(zip(sums, values))
        logs = {
            "epoch": self.epoch + 1,
            "loss": total_loss / max(seen, 1),
            **{name: s / max(seen, 1) for name, s in sums.items()},
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "seconds": time.perf_counter() - start,
        }
        self._progress = progress
        return logs


def fit(
    model: Module,
    train: Any,
    val: Any = None,
    loss: Callable | None = None,
    optimizer: Optimizer | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[MetricSpec] | None = None,
    target_loss: float | None = None,
    time_limit: float | None = None,
    transform: Callable | None = None,
    val_transform: Callable | None = None,
    resume: str | os.PathLike | None = None,
    quiet: bool = False,
    distributed: bool = False,
    grad_tol: float | None = None,
) -> History:
    """Train ``model`` and return its History.

    ``train`` (and ``val``) is a DataLoader, a Dataset or a tuple (x, y); ``loss`` defaults to
    cross-entropy and ``optimizer`` to Adam. ``metrics`` are names ("accuracy",
    "top5_accuracy") or functions f(scores, targets) -> float, logged per step, per epoch
    (sample-weighted over the epoch's batches, as the model trains) and on ``val`` after each
    epoch as ``val_<name>``; by default "accuracy" for classification and none otherwise.

    Stops after ``epochs`` epochs, when the epoch's training loss falls to ``target_loss``
    (the notes' "loss small enough"), once ``time_limit`` seconds have passed (within the
    epoch, after the step that crossed it), when the global gradient norm √(Σ‖g‖²) of a step
    falls below ``grad_tol``, or when a callback (e.g. EarlyStopping) says so;
    ``history.stop_reason`` says which. ``scheduler`` is stepped once per epoch. ``resume``
    continues exactly from a checkpoint written by ModelCheckpoint (its ``last.npz``), also
    from one written part-way through an epoch.

    A NaN or infinite loss or gradient raises DivergenceError before the step. Ctrl-C (or
    SIGTERM, SIGHUP) stops after the current step, runs the callbacks' ``on_train_end``
    (ModelCheckpoint saves ``last.npz`` there) and raises ``Interrupted``, a KeyboardInterrupt.

    ``distributed=True`` trains data-parallel over MPI (see bprop.distributed): each rank takes
    its shard of every epoch, gradients are averaged after backward, metrics are summed over
    ranks, and only rank 0 runs ``callbacks`` (checkpoints, logs) and shows progress.
    """
    loader = as_loader(train, batch_size, shuffle=True, transform=transform)
    signals = StopOnSignal()
    own: list[Callback] = [DataParallel()] if distributed else []
    own += [signals] + ([TimeLimit(time_limit)] if time_limit is not None else [])
    opt = optimizer or Adam(model.parameters())
    trainer = Trainer(model, loader, loss or CrossEntropyLoss(), opt, scheduler, [*own, *callbacks], metrics)
    trainer.grad_tol, trainer.quiet = grad_tol, quiet
    for cb in list(trainer.callbacks):
        cb.on_setup(trainer)
    if resume is not None:
        trainer.resume(resume)
    try:
        for cb in trainer.callbacks:
            cb.on_train_begin(trainer)
        _epochs(trainer, val, epochs, batch_size, target_loss, transform, val_transform)
        trainer.history.stop_reason = trainer.stop or f"finished {epochs} epoch{'s' if epochs != 1 else ''}"
        for cb in trainer.callbacks:
            cb.on_train_end(trainer)
    finally:
        signals.restore()
    if trainer.interrupted:
        raise Interrupted(trainer.stop, trainer.signum)
    return trainer.history


def _epochs(
    trainer: Trainer,
    val: Any,
    epochs: int,
    batch_size: int,
    target_loss: float | None,
    transform: Callable | None,
    val_transform: Callable | None,
) -> None:
    """The epoch loop of ``fit``: train, validate, log, ask the callbacks."""
    while trainer.epoch < epochs and not trainer.stop:
        logs = trainer.train_epoch(epochs)
        if trainer.mid_epoch:  # stopped part-way: the epoch is not over, so nothing is logged for it
            trainer._progress.close(None)
            break
        if val is not None:
            logs.update(validate(trainer, as_loader(val, max(batch_size, 256), False, val_transform or transform)))
        trainer.epoch += 1
        if trainer.scheduler is not None:
            trainer.scheduler.step()
        trainer.history.epochs.append(logs)
        if target_loss is not None and logs["loss"] <= target_loss:
            trainer.stop = f"training loss {logs['loss']:.4g} reached the target {target_loss}"
        signalled = trainer.reduce_sum([float("signal" in trainer.requests)])[0]
        if signalled and not trainer.stop:  # a signal during validation or the callbacks
            trainer.interrupted = True
            trainer.stop = (
                f"{trainer.requests.get('signal', 'interrupted (on another rank)')} after epoch {trainer.epoch}"
            )
        for cb in trainer.callbacks:
            cb.on_epoch_end(trainer, logs)
        trainer._progress.close(logs)


__all__ = ["DivergenceError", "Interrupted", "Trainer", "evaluate", "fit", "predict"]
