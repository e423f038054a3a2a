"""The fit loop: epochs of (forward, loss, backward, step) with the notes' stopping rules —
maximum epochs and "loss small enough" — plus early stopping (a callback), a time limit, a
gradient-norm tolerance, and the faults a long run meets:

- a loss or gradient that is not finite stops training before the step that would write it
  into the weights (``DivergenceError``), so the model and every checkpoint stay finite;
- Ctrl-C is taken at the next step boundary: the callbacks' ``on_train_end`` runs (the
  checkpoint callback saves the exact mid-epoch state there) and KeyboardInterrupt is re-raised;
- a run stopped mid-epoch (time limit, gradient tolerance, Ctrl-C) resumes mid-epoch exactly.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from bprop import distributed as dist
from bprop.autograd import no_grad
from bprop.data import DataLoader, Dataset, TensorDataset
from bprop.nn import CrossEntropyLoss, Module
from bprop.optim import Adam, Optimizer
from bprop.tensor import Tensor
from bprop.train import metrics as M
from bprop.train.callbacks import Callback
from bprop.train.checkpoint import load_checkpoint, save_checkpoint
from bprop.train.history import History
from bprop.train.progress import Progress

MetricSpec = str | Callable[[np.ndarray, np.ndarray], float]


def as_loader(data: Any, batch_size: int, shuffle: bool, transform: Callable | None = None) -> DataLoader:
    """Accept a DataLoader, a Dataset, or a tuple (x, y) of arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise TypeError(f"expected a DataLoader, a Dataset or (x, y) arrays, got {type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, transform=transform)


class DivergenceError(ArithmeticError):
    """The loss or the gradient became NaN or infinite; no step was taken with it."""


def is_classification(scores: np.ndarray, targets: np.ndarray) -> bool:
    """Class scores (N, C) against integer labels (N,): the case accuracy and friends apply to."""
    return scores.ndim == 2 and targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer)


class Trainer:
    """State of one training run; ``fit`` is the usual entry point."""

    def __init__(
        self,
        model: Module,
        loader: DataLoader,
        loss: Callable,
        optimizer: Optimizer,
        scheduler: Any = None,
        config: dict[str, Any] | None = None,
        distributed: bool = False,
        callbacks: Sequence[Callback] = (),
        metrics: Sequence[MetricSpec] | None = None,
    ):
        self.model, self.loader, self.loss, self.optimizer = model, loader, loss, optimizer
        self.scheduler, self.config, self.distributed = scheduler, config or {}, distributed
        self.callbacks = list(callbacks)
        # only callbacks that override on_batch_end are called per step: none costs nothing
        self.batch_callbacks = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        # None: "accuracy" if the first batch turns out to be a classification one, else nothing
        self.metrics = None if metrics is None else [M.get_metric(m) for m in metrics]
        self.history = History()
        self.epoch = self.step = 0
        self.stop = ""
        self.deadline: float | None = None  # time.perf_counter() value at which to stop
        self.grad_tol: float | None = None
        self.interrupted = False  # set by the Ctrl-C handler; acted on at the next step boundary
        # the running sums of an epoch stopped part-way, carried in checkpoints for exact resumption
        self.partial: dict[str, Any] = {}

    @property
    def mid_epoch(self) -> bool:
        """True when training stopped part-way through an epoch (``self.epoch`` is not finished)."""
        return self.loader.mid_epoch

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            self.loader,
            self.history,
            epoch=self.epoch,
            step=self.step,
            config=self.config,
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
        if self.distributed:  # averaged first, so that every rank sees the same norm and agrees
            dist.allreduce_gradients(self.model)
        value, norm = loss.item(), self.grad_norm()
        # every rank must reach the same verdict, so under MPI the losses are summed first
        healthy = value if not self.distributed else dist.allreduce_sum([value])[0]
        if not (math.isfinite(healthy) and math.isfinite(norm)):
            what = f"loss is {value}" if not math.isfinite(value) else f"gradient norm is {norm}"
            raise DivergenceError(
                f"training diverged at epoch {self.epoch + 1}, step {self.step + 1}: the {what}, so no step "
                "was taken with it; lower the learning rate or check the data for extreme values"
            )
        self.optimizer.step()
        self.step += 1
        return value, norm, self.batch_metrics(np.asarray(scores), np.asarray(y))

    def train_epoch(self, epochs: int, quiet: bool) -> dict[str, float]:
        """One pass over the loader (or the rest of one stopped part-way); the logs hold
        sample-weighted means of the batches' loss and metrics."""
        self.model.train()
        if getattr(self.loader.sampler, "set_epoch", None):
            self.loader.sampler.set_epoch(self.epoch)
        progress = Progress(len(self.loader), self.epoch + 1, epochs, quiet)
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
            self.stop = self.stop or self._stop_within_epoch(norm, now)
            if self.stop:
                break
        if self.loader.mid_epoch:  # stopped part-way: keep the sums so that a resumed epoch adds to them
            self.partial = {"loss": total_loss, "seen": seen, "sums": sums, "seconds": time.perf_counter() - start}
        if self.distributed:
            total_loss, seen, *values = dist.allreduce_sum([total_loss, seen, *sums.values()])
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

    def _stop_within_epoch(self, norm: float, now: float) -> str:
        """Why to stop after this step, or "" to go on."""
        where = f"step {self.loader._position} of {len(self.loader)} of epoch {self.epoch + 1}"
        if self.grad_tol is not None and norm < self.grad_tol:  # the same norm on every rank
            return f"gradient norm {norm:.3g} fell below grad_tol {self.grad_tol:g} at {where}"
        # a time limit or Ctrl-C ends the epoch early; not so in data-parallel runs, where every
        # rank must take the same number of steps (they check the time after the epoch)
        if self.distributed:
            return ""
        if self.interrupted:
            return f"interrupted (Ctrl-C) after {where}"
        if self.deadline is not None and now >= self.deadline:
            return f"time limit reached after {where}"
        return ""


@contextlib.contextmanager
def _ctrl_c_at_step_boundary(trainer: Trainer) -> Any:
    """While inside, the first Ctrl-C asks the trainer to stop after the current step (so that
    no step is half-applied); a second one interrupts at once. Only in the main thread of a
    single process: signal handlers cannot be set elsewhere, and MPI ranks must stop together."""
    if trainer.distributed or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_ctrl_c(signum: int, frame: Any) -> None:
        trainer.interrupted = True
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    config: dict[str, Any] | None = None,
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

    A NaN or infinite loss or gradient raises DivergenceError before the step. Ctrl-C stops
    after the current step, runs the callbacks' ``on_train_end`` (ModelCheckpoint saves
    ``last.npz`` there) and raises KeyboardInterrupt.

    ``distributed=True`` trains data-parallel over MPI (see bprop.distributed): each rank takes
    its shard of every epoch, gradients are averaged after backward, metrics are summed over
    ranks, and only rank 0 runs callbacks (checkpoints, logs) and shows progress.
    """
    loader = as_loader(train, batch_size, shuffle=True, transform=transform)
    if distributed:
        loader = _shard(loader)
        callbacks = callbacks if dist.is_main() else ()
        quiet = quiet or not dist.is_main()
    trainer = Trainer(
        model,
        loader,
        loss or CrossEntropyLoss(),
        optimizer or Adam(model.parameters()),
        scheduler,
        config,
        distributed,
        callbacks,
        metrics,
    )
    if resume is not None:
        trainer.resume(resume)
    if distributed:
        dist.broadcast_parameters(model)
    for cb in callbacks:
        cb.on_train_begin(trainer)
    started = time.perf_counter()
    trainer.deadline = None if time_limit is None else started + time_limit
    trainer.grad_tol = grad_tol
    with _ctrl_c_at_step_boundary(trainer):
        _epochs(trainer, val, epochs, batch_size, target_loss, time_limit, started, transform, val_transform, quiet)
    trainer.history.stop_reason = trainer.stop or f"finished {epochs} epoch{'s' if epochs != 1 else ''}"
    for cb in callbacks:
        cb.on_train_end(trainer)
    if trainer.interrupted:
        raise KeyboardInterrupt(trainer.stop)
    return trainer.history


def _epochs(
    trainer: Trainer,
    val: Any,
    epochs: int,
    batch_size: int,
    target_loss: float | None,
    time_limit: float | None,
    started: float,
    transform: Callable | None,
    val_transform: Callable | None,
    quiet: bool,
) -> None:
    """The epoch loop of ``fit``: train, validate, log, ask the callbacks."""
    model, scheduler, callbacks = trainer.model, trainer.scheduler, trainer.callbacks
    while trainer.epoch < epochs and not trainer.stop:
        logs = trainer.train_epoch(epochs, quiet)
        if trainer.mid_epoch:  # stopped part-way: the epoch is not over, so nothing is logged for it
            trainer._progress.close(None)
            break
        if val is not None:
            results = _evaluate(
                model,
                as_loader(val, max(batch_size, 256), False, val_transform or transform),
                trainer.loss,
                trainer.metrics,
            )
            names = ["loss", *(name for name, _ in trainer.metrics or [])]  # the training columns, mirrored
            logs.update({f"val_{name}": results[name] for name in names if name in results})
        trainer.epoch += 1
        if scheduler is not None:
            scheduler.step()
        trainer.history.epochs.append(logs)
        if target_loss is not None and logs["loss"] <= target_loss:
            trainer.stop = f"training loss {logs['loss']:.4g} reached the target {target_loss}"
        if time_limit is not None and time.perf_counter() - started >= time_limit:
            trainer.stop = trainer.stop or f"time limit of {time_limit} s reached"
        if trainer.interrupted and not trainer.stop:  # Ctrl-C during validation or the callbacks
            trainer.stop = f"interrupted (Ctrl-C) after epoch {trainer.epoch}"
        for cb in callbacks:
            cb.on_epoch_end(trainer, logs)
        trainer._progress.close(logs)


def _shard(loader: DataLoader) -> DataLoader:
    """The same loader, reading only this rank's share of each epoch (one seed for all ranks)."""
    dist.init()
    if isinstance(loader.sampler, dist.DistributedSampler):
        return loader
    seed = dist.broadcast_object(int(loader.generator.integers(2**31)))
    sampler = dist.DistributedSampler(
        len(loader.dataset), shuffle=loader.shuffle, seed=seed, drop_last=loader.drop_last
    )
    return DataLoader(
        loader.dataset, loader.batch_size, loader.shuffle, loader.drop_last, loader.transform, sampler=sampler
    )


def _outputs_and_targets(model: Module, loader: DataLoader) -> tuple[np.ndarray, np.ndarray | None]:
    """Model outputs and targets of every batch, in one pass, in eval mode without a graph."""
    was_training = model.training
    model.eval()
    outputs, targets = [], []
    try:
        with no_grad():
            for batch in loader:
                outputs.append(np.asarray(model(batch[0])))
                targets.append(np.asarray(batch[1]) if len(batch) > 1 else None)
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("no samples to evaluate: the data set is empty")
    return np.concatenate(outputs), None if targets[0] is None else np.concatenate(targets)


def predict(model: Module, data: Any, batch_size: int = 256, transform: Callable | None = None) -> np.ndarray:
    """Model outputs (e.g. class scores) for every sample, in eval mode, as one array.

    ``data``: inputs as an array or Tensor, a tuple (x, y), a Dataset, or a DataLoader (whose
    order the outputs follow)."""
    if isinstance(data, (np.ndarray, Tensor)):
        data = TensorDataset(data)
    return _outputs_and_targets(model, as_loader(data, batch_size, shuffle=False, transform=transform))[0]


def evaluate(
    model: Module,
    data: Any,
    loss: Callable | None = None,
    batch_size: int = 256,
    transform: Callable | None = None,
    metrics: Sequence[MetricSpec] | None = None,
) -> dict[str, Any]:
    """Loss (``loss`` defaults to cross-entropy) and ``metrics`` over ``data`` in eval mode.

    For classification (scores (N, C), integer labels) ``metrics`` defaults to ["accuracy"], and
    the results also hold "top5_accuracy", "confusion_matrix" (rows: true class) and per-class
    "precision", "recall", "f1" and "support" arrays.
    """
    resolved = None if metrics is None else [M.get_metric(m) for m in metrics]
    return _evaluate(
        model, as_loader(data, batch_size, shuffle=False, transform=transform), loss or CrossEntropyLoss(), resolved
    )


def _evaluate(
    model: Module, loader: DataLoader, loss: Callable, metrics: list[tuple[str, M.Metric]] | None
) -> dict[str, Any]:
    scores, targets = _outputs_and_targets(model, loader)
    if targets is None:
        raise ValueError("evaluate needs targets: give (x, y) or a dataset of (input, target) pairs")
    with no_grad():
        results: dict[str, Any] = {
            "loss": float(loss(Tensor._from_op(scores, None), Tensor._from_op(targets, None)).item())
        }
    classification = is_classification(scores, targets)
    if metrics is None:
        metrics = [M.get_metric("accuracy")] if classification else []
    results.update({name: float(fn(scores, targets)) for name, fn in metrics})
    if classification:
        confusion = M.confusion_matrix(targets, scores, scores.shape[1])
        results.update(
            top5_accuracy=M.top_k_accuracy(scores, targets, 5),
            confusion_matrix=confusion,
            **M.precision_recall_f1(confusion),
        )
    return results
