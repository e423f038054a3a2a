"""The callbacks ``fit`` adds itself for what is not training proper: data parallelism over MPI
ranks, a time limit, and stopping on a signal (Ctrl-C, SIGTERM, SIGHUP) at a step boundary.

A stop that one of them asks for (time is up, a signal came) is a vote: the trainer sums every
rank's votes together with the step's loss, in the one allreduce a step makes anyway, so that
all ranks stop after the same step and none waits forever in a collective. In one process the
vote is simply its own.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from bprop import distributed as dist
from bprop.data import DataLoader
from bprop.train.callbacks import Callback


class DataParallel(Callback):
    """Data-parallel training over MPI ranks (see bprop.distributed): each rank reads its shard
    of every epoch, the ranks start from rank 0's weights, gradients are averaged after each
    backward, and every sum the trainer makes over a step or an epoch (loss, metrics, stop
    votes) is a sum over ranks. Only rank 0 shows progress and runs the callbacks that are not
    ``every_rank`` (checkpoints, logs)."""

    every_rank = True

    def on_setup(self, trainer: Any) -> None:
        dist.init()
        trainer.loader = _shard(trainer.loader)
        if not dist.is_main():
            trainer.set_callbacks([cb for cb in trainer.callbacks if cb.every_rank])
            trainer.quiet = True

    def on_train_begin(self, trainer: Any) -> None:
        dist.broadcast_parameters(trainer.model)
        trainer.reduce_sum = dist.allreduce_sum

    def on_backward_end(self, trainer: Any) -> None:
        dist.allreduce_gradients(trainer.model)


def _shard(loader: DataLoader) -> DataLoader:
    """The same loader, reading only this rank's share of each epoch (one seed for all ranks)."""
    if isinstance(loader.sampler, dist.DistributedSampler):
        return loader
    seed = dist.broadcast_object(int(loader.generator.integers(2**31)))
    sampler = dist.DistributedSampler(
        len(loader.dataset), shuffle=loader.shuffle, seed=seed, drop_last=loader.drop_last
    )
    return DataLoader(
        loader.dataset, loader.batch_size, loader.shuffle, loader.drop_last, loader.transform, sampler=sampler
    )


class TimeLimit(Callback):
    """Stop once ``seconds`` have passed: within an epoch after the step that crossed the limit
    (the run resumes mid-epoch exactly), or after an epoch whose validation crossed it."""

    every_rank = True

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = float("inf")

    def on_train_begin(self, trainer: Any) -> None:
        self.deadline = time.perf_counter() + self.seconds

    def on_backward_end(self, trainer: Any) -> None:
        if time.perf_counter() >= self.deadline:
            trainer.request_stop("time", "time limit reached")

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        passed = float(time.perf_counter() >= self.deadline)
        if trainer.reduce_sum([passed])[0] and not trainer.stop:  # the ranks' clocks differ: agree
            trainer.stop = f"time limit of {self.seconds:g} s reached"


SIGNAL_WORDS = {"SIGINT": "Ctrl-C", "SIGUSR1": "the job was asked to stop"}


class StopOnSignal(Callback):
    """The first SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGUSR1 (what ``bprop train --workers``
    sends its ranks) asks the trainer to stop after the current step, so that no step is
    half-applied and the checkpoint callback saves the exact state; a second one of the same
    signal acts at once, as it would without this. Only in the main thread, where handlers can
    be set; ``restore`` puts the previous handlers back, however training ended."""

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1")
    every_rank = True

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def on_train_begin(self, trainer: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            trainer.request_stop("signal", f"interrupted ({SIGNAL_WORDS.get(name, name)})", signum)
            signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))

        for name in self.NAMES:
            if hasattr(signal, name):
                number = getattr(signal, name)
                self.previous[number] = signal.signal(number, on_signal)

    def restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}
