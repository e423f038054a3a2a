"""The fit loop: epochs of (forward, loss, backward, step) with the notes' stopping rules —
maximum epochs and "loss small enough" — plus early stopping (a callback) and a time limit."""

from __future__ import annotations

import os
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
        )

    def resume(self, path: str | os.PathLike) -> None:
        state = load_checkpoint(path, self.model, self.optimizer, self.scheduler, self.loader, self.history)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
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

    def train_epoch(self, epochs: int, quiet: bool) -> dict[str, float]:
        """One pass over the loader; the logs hold sample-weighted means of the batches' loss and metrics."""
        self.model.train()
        if getattr(self.loader.sampler, "set_epoch", None):
            self.loader.sampler.set_epoch(self.epoch)
        progress = Progress(len(self.loader), self.epoch + 1, epochs, quiet)
        total_loss = seen = 0.0
        sums: dict[str, float] = {}
        start = time.perf_counter()
        for done, (x, y) in enumerate(self.loader, start=1):
            step_start = time.perf_counter()
            self.optimizer.zero_grad()
            scores, loss = self.data_loss(x, y)
            loss.backward()
            if self.distributed:
                dist.allreduce_gradients(self.model)
            self.optimizer.step()
            self.step += 1
            for cb in self.batch_callbacks:
                cb.on_batch_end(self)
            value, n = loss.item(), len(x)
            measured = self.batch_metrics(scores.data, y.data)
            total_loss += value * n
            seen += n
            for name, v in measured.items():
                sums[name] = sums.get(name, 0.0) + v * n
            now = time.perf_counter()
            self.history.steps.append({"step": self.step, "loss": value, **measured, "seconds": now - step_start})
            progress.update(
                loss=total_loss / seen, **{k: s / seen for k, s in sums.items()}, samples_per_s=seen / (now - start)
            )
            # a time limit ends the epoch early; not so in data-parallel runs, where every rank
            # must take the same number of steps (they check it after the epoch, below)
            if self.deadline is not None and now >= self.deadline and not self.distributed:
                self.stop = f"time limit reached after {done} of {len(self.loader)} steps of epoch {self.epoch + 1}"
                break
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
) -> History:
    """Train ``model`` and return its History.

    ``train`` (and ``val``) is a DataLoader, a Dataset or a tuple (x, y); ``loss`` defaults to
    cross-entropy and ``optimizer`` to Adam. ``metrics`` are names ("accuracy",
    "top5_accuracy") or functions f(scores, targets) -> float, logged per step, per epoch
    (sample-weighted over the epoch's batches, as the model trains) and on ``val`` after each
    epoch as ``val_<name>``; by default "accuracy" for classification and none otherwise.

    Stops after ``epochs`` epochs, when the epoch's training loss falls to ``target_loss``
    (the notes' "loss small enough"), once ``time_limit`` seconds have passed (within the
    epoch, after the step that crossed it), or when a callback (e.g. EarlyStopping) says so;
    ``history.stop_reason`` says which. ``scheduler`` is stepped once per epoch. ``resume``
    continues exactly from a checkpoint written by ModelCheckpoint (its ``last.npz``).

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
    while trainer.epoch < epochs and not trainer.stop:
        logs = trainer.train_epoch(epochs, quiet)
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
        for cb in callbacks:
            cb.on_epoch_end(trainer, logs)
        trainer._progress.close(logs)
    trainer.history.stop_reason = trainer.stop or f"finished {epochs} epochs"
    return trainer.history


def _shard(loader: DataLoader) -> DataLoader:
    """The same loader, reading only this rank's share of each epoch (one seed for all ranks)."""
    dist.init()
    if isinstance(loader.sampler, dist.DistributedSampler):
        return loader
    seed = int(loader.generator.integers(2**31))
    if dist.world_size() > 1:
        seed = dist._world.comm.bcast(seed, root=0)
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
                outputs.append(model(batch[0]).data)
                targets.append(batch[1].data if len(batch) > 1 else None)
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
