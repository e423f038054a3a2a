"""The fit loop: epochs of (forward, loss, backward, step) with the notes' stopping rules —
maximum epochs and "loss small enough" — plus early stopping and a time limit via callbacks
and arguments."""

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


def as_loader(data: Any, batch_size: int, shuffle: bool, transform: Callable | None = None) -> DataLoader:
    """Accept a DataLoader, a Dataset, or a tuple (x, y) of arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise TypeError(f"expected a DataLoader, a Dataset or (x, y) arrays, got {type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, transform=transform)


class Trainer:
    """State of one training run; ``fit`` is the usual entry point."""

    def __init__(self, model: Module, loader: DataLoader, loss: Callable, optimizer: Optimizer,
                 scheduler: Any = None, config: dict[str, Any] | None = None, distributed: bool = False,
                 callbacks: Sequence[Callback] = ()):
        self.model, self.loader, self.loss, self.optimizer = model, loader, loss, optimizer
        self.scheduler, self.config, self.distributed = scheduler, config or {}, distributed
        # only callbacks that override on_batch_end are called per step: none costs nothing
        self.batch_callbacks = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        self.history = History()
        self.epoch = self.step = 0
        self.stop = ""

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        save_checkpoint(path, self.model, self.optimizer, self.scheduler, self.loader, self.history,
                        epoch=self.epoch, step=self.step, config=self.config)

    def resume(self, path: str | os.PathLike) -> None:
        state = load_checkpoint(path, self.model, self.optimizer, self.scheduler, self.loader, self.history)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])

    def data_loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.model(x)
        loss = self.loss(scores, y)
        penalty = getattr(self.model, "regularization", None)
        return scores, (loss + penalty() if callable(penalty) else loss)

    def train_epoch(self, epochs: int, quiet: bool) -> dict[str, float]:
        self.model.train()
        if getattr(self.loader.sampler, "set_epoch", None):
            self.loader.sampler.set_epoch(self.epoch)
        progress = Progress(len(self.loader), self.epoch + 1, epochs, quiet)
        total_loss = correct = seen = 0.0
        start = time.perf_counter()
        for x, y in self.loader:
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
            total_loss += value * n
            seen += n
            if scores.ndim == 2 and np.issubdtype(y.dtype, np.integer):
                correct += float(np.sum(scores.data.argmax(1) == y.data))
            self.history.steps.append({"step": self.step, "loss": value})
            progress.update(loss=value, acc=correct / seen, samples_per_s=seen / (time.perf_counter() - start))
        if self.distributed:
            total_loss, correct, seen = dist.allreduce_sum([total_loss, correct, seen])
        logs = {"epoch": self.epoch + 1, "loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1),
                "lr": float(self.optimizer.param_groups[0]["lr"]), "seconds": time.perf_counter() - start}
        self._progress = progress
        return logs


def fit(model: Module, train: Any, val: Any = None, loss: Callable | None = None, optimizer: Optimizer | None = None,
        epochs: int = 10, batch_size: int = 32, scheduler: Any = None, callbacks: Sequence[Callback] = (),
        target_loss: float | None = None, time_limit: float | None = None, transform: Callable | None = None,
        val_transform: Callable | None = None, resume: str | os.PathLike | None = None, quiet: bool = False,
        config: dict[str, Any] | None = None, distributed: bool = False) -> History:
    """Train ``model`` and return its History.

    Stops after ``epochs`` epochs, when the epoch's training loss falls below ``target_loss``
    (the notes' "loss small enough"), when ``time_limit`` seconds have passed, or when a
    callback (e.g. EarlyStopping) says so. ``scheduler`` is stepped once per epoch.
    ``resume`` continues from a checkpoint written by ModelCheckpoint (its ``last.npz``).

    ``distributed=True`` trains data-parallel over MPI (see bprop.distributed): each rank takes
    its shard of every epoch, gradients are averaged after backward, metrics are summed over
    ranks, and only rank 0 runs callbacks (checkpoints, logs) and shows progress.
    """
    loader = as_loader(train, batch_size, shuffle=True, transform=transform)
    if distributed:
        loader = _shard(loader)
        callbacks = callbacks if dist.is_main() else ()
        quiet = quiet or not dist.is_main()
    trainer = Trainer(model, loader, loss or CrossEntropyLoss(), optimizer or Adam(model.parameters()),
                      scheduler, config, distributed, callbacks)
    if resume is not None:
        trainer.resume(resume)
    if distributed:
        dist.broadcast_parameters(model)
    for cb in callbacks:
        cb.on_train_begin(trainer)
    started = time.perf_counter()
    while trainer.epoch < epochs and not trainer.stop:
        logs = trainer.train_epoch(epochs, quiet)
        if val is not None:
            results = evaluate(model, val, loss=trainer.loss, batch_size=max(batch_size, 256),
                               transform=val_transform or transform)
            logs.update({f"val_{k}": v for k, v in results.items() if isinstance(v, float)})
        trainer.epoch += 1
        if scheduler is not None:
            scheduler.step()
        trainer.history.epochs.append(logs)
        if target_loss is not None and logs["loss"] <= target_loss:
            trainer.stop = f"training loss {logs['loss']:.4g} reached the target {target_loss}"
        if time_limit is not None and time.perf_counter() - started >= time_limit:
            trainer.stop = f"time limit of {time_limit} s reached"
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
    seed = int(loader.generator.integers(2 ** 31))
    if dist.world_size() > 1:
        seed = dist._world.comm.bcast(seed, root=0)
    sampler = dist.DistributedSampler(len(loader.dataset), shuffle=loader.shuffle, seed=seed,
                                      drop_last=loader.drop_last)
    return DataLoader(loader.dataset, loader.batch_size, loader.shuffle, loader.drop_last, loader.transform,
                      sampler=sampler)


def predict(model: Module, data: Any, batch_size: int = 256, transform: Callable | None = None) -> np.ndarray:
    """Model outputs (e.g. class scores) for every sample, in eval mode, as one array."""
    loader = as_loader(data, batch_size, shuffle=False, transform=transform)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [model(batch[0]).data for batch in loader]
    finally:
        model.train(was_training)
    return np.concatenate(outputs)


def evaluate(model: Module, data: Any, loss: Callable | None = None, batch_size: int = 256,
             transform: Callable | None = None) -> dict[str, Any]:
    """Loss, accuracy, top-5 accuracy, confusion matrix and per-class precision/recall/F1."""
    loader = as_loader(data, batch_size, shuffle=False, transform=transform)
    targets = np.concatenate([batch[1].data for batch in as_loader(loader.dataset, batch_size, False)])
    scores = predict(model, loader, batch_size)
    loss_fn = loss or CrossEntropyLoss()
    with no_grad():
        loss_value = loss_fn(Tensor(scores, dtype=scores.dtype), Tensor(targets)).item()
    confusion = M.confusion_matrix(targets, scores, scores.shape[1])
    return {"loss": float(loss_value), "accuracy": M.accuracy(scores, targets),
            "top5_accuracy": M.top_k_accuracy(scores, targets, 5), "confusion_matrix": confusion,
            **M.precision_recall_f1(confusion)}
