"""``run(config)``: one training run as a RunConfig describes it — data, model, optimizer,
schedule, checkpoints, evaluation — for ``bprop train`` and for Python alike.

    from bprop.train import RunConfig, run
    result = run(RunConfig(data="digits", epochs=5, out="runs/d"))
    result = run(RunConfig.from_checkpoint("runs/d/last.npz", epochs=10), resume=True)

Everything that can fail on the user's input (options, data, the output folder, the checkpoint
to resume) is checked before the first step and before anything is written: such errors are
``RunError``, ``ConfigError`` or ``DatasetError``, each one line. Under MPI every rank does
these checks and the ranks agree on the outcome before the first collective, so a bad data
folder on one machine stops the whole job at once. During training, a NaN or infinite loss
raises ``DivergenceError`` with nothing written, and Ctrl-C saves the exact state (mid-epoch)
to ``last.npz`` and raises KeyboardInterrupt.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bprop import distributed as dist
from bprop import nn, optim, runtime
from bprop.data import DataLoader, Dataset, random_split
from bprop.data.datasets import DatasetError
from bprop.data.registry import dataset_spec, load_dataset
from bprop.nn.builder import ModelOptions, build_model
from bprop.random import manual_seed
from bprop.serialization import atomic_write_bytes
from bprop.train.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, ProfileFirstEpoch
from bprop.train.checkpoint import load_checkpoint
from bprop.train.evaluate import evaluate
from bprop.train.fit import fit
from bprop.train.history import History
from bprop.train.paths import broken_link
from bprop.train.run_config import ConfigError, RunConfig, flag
from bprop.train.run_lock import LockError, RunLock

RUN_FILES = (
    "last.npz",
    "best.npz",
    "history.csv",
    "metrics.json",
    "report.html",
    "viz.npz",
    "delta.npz",
    "examples.npz",
)
STALE_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")  # what serialization.atomic_write leaves when killed


class RunError(Exception):
    """A problem with a run's inputs (output folder, checkpoint, data against model), one line."""


USER_ERRORS = (RunError, ConfigError, DatasetError)


@dataclass
class RunResult:
    config: RunConfig
    model: nn.Module
    history: History
    test: dict[str, Any] | None  # evaluate() on the test data; None on ranks other than 0
    out: Path | None
    input_shape: tuple[int, ...]
    num_classes: int
    test_set: Dataset
    eval_transform: Any
    report: Path | None = None  # report.html, when config.report asked for one


@dataclass
class _Setup:
    """What ``_prepare`` checked and built, ready to train."""

    config: RunConfig
    out: Path | None
    resume: Path | None
    train_set: Dataset
    val_set: Dataset | None
    test_set: Dataset
    input_shape: tuple[int, ...]
    num_classes: int
    model: nn.Module
    optimizer: optim.Optimizer
    scheduler: Any
    loader: DataLoader
    eval_transform: Any
    notes: list[str]
    threads: int
    lock: RunLock | None = None  # held on rank 0 from the checks until the run ends


def checkpoint_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a file; else a RunError saying it is missing or a folder (and,
    for the folder of a run, which file in it to give), worded alike for every command."""
    if not str(path):  # Path("") would be the current folder
        raise RunError("no checkpoint given (an empty file name)")
    path = Path(path)
    if path.is_file():
        return path
    expected = "(expected a checkpoint .npz written by `bprop train --out`)"
    if not path.is_dir():
        raise RunError(f"{path}: no such file {expected}")
    inside = [path / name for name in ("best.npz", "last.npz") if (path / name).is_file()]
    hint = f": give the file in it, e.g. {inside[-1]}" if inside else f" {expected}"
    raise RunError(f"{path} is a folder, not a checkpoint file{hint}")


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], RunConfig]:
    """A checkpoint written by ``run`` and its RunConfig, checked: RunError naming the file if
    it is missing, not a bprop checkpoint, or lacks a valid run configuration."""
    path = checkpoint_file(path)
    try:
        state = load_checkpoint(path, restore_rng=False)
    except (ValueError, OSError, KeyError) as err:  # the command already heads the line: no "bp.load:"
        raise RunError(str(err).removeprefix("bp.load: ")) from None
    stored = state.get("config")
    if not isinstance(stored, dict) or "model" not in stored or "input_shape" not in stored:
        raise RunError(f"{path} holds no run configuration (was it written by `bprop train --out`?)")
    try:
        config = RunConfig.from_dict(stored, where=str(path))
    except ConfigError as err:
        raise RunError(str(err)) from None
    _check_checkpoint_fields(path, state, stored)
    return state, config


def _check_checkpoint_fields(path: Path, state: dict[str, Any], stored: dict[str, Any]) -> None:
    """Every field a command reads, checked for type, shape and range before any is used: a
    damaged or hand-edited checkpoint is one line naming the field, not an IndexError later."""
    shape, classes = stored.get("input_shape"), stored.get("num_classes")
    if not (isinstance(shape, list) and shape and all(_count_like(d) and d > 0 for d in shape)):
        raise RunError(f"{path}: the stored input shape {shape!r} is not a list of positive sizes")
    if not (_count_like(classes) and classes > 0):
        raise RunError(f"{path}: the stored class count {classes!r} is not a positive integer")
    for name in ("epoch", "step"):
        if not (_count_like(state.get(name)) and state[name] >= 0):
            raise RunError(f"{path}: the stored {name} {state.get(name)!r} is not a non-negative integer")
    if not isinstance(state.get("model"), dict) or not state["model"]:
        raise RunError(f"{path}: holds no model weights")
    vocabulary = stored.get("vocabulary")
    if vocabulary is not None:
        if not (isinstance(vocabulary, list) and all(isinstance(c, str) and len(c) == 1 for c in vocabulary)):
            raise RunError(f"{path}: the stored vocabulary is not a list of single characters")
        if len(vocabulary) != classes or len(set(vocabulary)) != len(vocabulary):
            raise RunError(
                f"{path}: the stored vocabulary holds {len(vocabulary)} characters "
                f"({len(set(vocabulary))} distinct), but the model predicts {classes}: the checkpoint is damaged"
            )
    position = state.get("loader", {}).get("position", 0) if isinstance(state.get("loader"), dict) else None
    if not (_count_like(position) and position >= 0):
        raise RunError(f"{path}: the stored loader position {position!r} is not a non-negative integer")


def _count_like(value: Any) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def model_from_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, RunConfig, dict[str, Any]]:
    """The trained model of a checkpoint, its RunConfig and the raw checkpoint."""
    state, config = read_checkpoint(path)
    model = make_model(config, tuple(state["config"]["input_shape"]), state["config"]["num_classes"])
    _load_weights(model, state, path)
    return model, config, state


def _load_weights(model: nn.Module, state: dict[str, Any], path: str | os.PathLike) -> None:
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        message = str(err.args[0]) if err.args else type(err).__name__
        raise RunError(f"{path}: the saved weights do not fit the saved model: {message}") from None


def make_model(config: RunConfig, input_shape: Sequence[int], num_classes: int) -> nn.Module:
    """The model a RunConfig describes, for inputs of ``input_shape`` and ``num_classes`` classes."""
    options = ModelOptions(
        hidden=config.hidden, normalization=config.model_normalization, dropout=config.dropout,
        weight_scale=config.weight_scale, reg=config.reg,
    )  # fmt: skip
    try:
        return build_model(config.model, input_shape, num_classes, options)
    except ValueError as err:
        raise RunError(f"--model {config.model}: {err}") from None


def make_optimizer(config: RunConfig, params: Any) -> optim.Optimizer:
    """The optimizer with the library's own defaults for everything the config leaves unsaid."""
    lr, wd = config.lr, config.weight_decay
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd, nesterov=config.nesterov)
    if config.optimizer == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    return optim.RMSprop(params, lr=lr, weight_decay=wd, momentum=config.momentum)


class CosineThenHold:
    """The run's learning-rate schedule: cosine annealing from --lr to 0 over the epochs the run
    was started with (torch's CosineAnnealingLR), then its final value. A resumed run continues
    the schedule exactly; given more --epochs than it began with, the added epochs run at the
    schedule's final value (they never restart or re-stretch the cosine)."""

    def __init__(self, cosine: optim.lr_scheduler.CosineAnnealingLR):
        self.cosine = cosine

    def step(self) -> None:
        if self.cosine.last_epoch < self.cosine.T_max:
            self.cosine.step()

    def state_dict(self) -> dict[str, Any]:
        return self.cosine.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cosine.load_state_dict(state)


def run(
    config: RunConfig,
    resume: bool | str | os.PathLike = False,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train as ``config`` says; print progress (unless quiet) and, with ``config.out``, write
    last.npz, best.npz, history.csv and metrics.json there.

    ``resume``: True continues ``OUT/last.npz``, a path continues that checkpoint; ``config``
    must then equal the checkpoint's RunConfig except for resumable options (take it from
    ``RunConfig.from_checkpoint``). An ``out`` folder that already holds a run is refused
    unless resuming or ``overwrite`` (which first removes that run's files). ``callbacks`` are
    added to the fit loop's (e.g. a ``bprop.viz.VizRecorder``).
    """
    dist.init()
    # the process tuning (runtime/tuning.py) for the run's length only; the results do not depend on it
    with np.errstate(all="ignore"), runtime.tuned():
        error, setup = None, None
        try:
            setup = _prepare(config, resume, overwrite)
        except USER_ERRORS as err:
            error = err
        try:
            dist.agree_on_errors(error)  # every rank stops here if any failed
            with runtime.using_threads(setup.threads):  # one count for the whole run: see _thread_count
                return _train(setup, callbacks)
        finally:
            if setup is not None and setup.lock is not None:
                setup.lock.release()


def _prepare(config: RunConfig, resume: bool | str | os.PathLike, overwrite: bool) -> _Setup:
    """Check every input and build everything, writing nothing but the lock of the run's folder
    (which the caller releases)."""
    if resume not in (False, None) and overwrite:
        raise RunError("--resume continues the run in the folder and --overwrite replaces it: give one of them")
    out_dir = config.out or config.report
    out = Path(out_dir) if out_dir else None
    resume_path, state = _checkpoint_to_resume(config, resume, out)
    lock = None
    if out is not None and dist.is_main():
        option = "--out" if config.out else "--report"  # the flag the user gave, to name in errors
        lock = _check_out(out, option, resume_path, overwrite=overwrite)
    try:
        setup = _build(config, out, resume_path, state)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    setup.lock = lock
    return setup


def _build(config: RunConfig, out: Path | None, resume_path: Path | None, state: dict[str, Any] | None) -> _Setup:
    """Load the data and build the model, optimizer and loader, checking that they fit."""
    manual_seed(config.seed)
    train_set, test_set = load_dataset(config.data, config.data_dir, config.download)
    spec = dataset_spec(config.data)
    input_shape = tuple(int(d) for d in np.shape(train_set.gather(np.arange(1))[0])[1:])
    if spec.task == "language-model":
        num_classes = len(class_names(train_set))  # the vocabulary, whether each character is a target or not
    else:
        num_classes = spec.num_classes or _num_classes(train_set, test_set)
    if state is not None:
        saved_shape = tuple(state["config"]["input_shape"])
        if saved_shape != input_shape or state["config"]["num_classes"] != num_classes:
            raise RunError(
                f"{resume_path} was trained on inputs {saved_shape} in {state['config']['num_classes']} classes, "
                f"but {config.data} has {input_shape} in {num_classes}"
            )
    val_set = None
    if config.val_split:
        train_set, val_set = random_split(train_set, [1 - config.val_split, config.val_split], seed=config.seed)
        if len(train_set) == 0 or len(val_set) == 0:
            raise RunError(
                f"--val-split {config.val_split} leaves no {'training' if not train_set else 'validation'} data"
            )
    model = make_model(config, input_shape, num_classes)
    if state is not None:
        _load_weights(model, state, resume_path)
    opt = make_optimizer(config, model.parameters())
    scheduler = CosineThenHold(optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs))
    train_tf, eval_tf = spec.transforms(config.augment)
    notes: list[str] = []
    if state is not None:
        position = int(state.get("loader", {}).get("position", 0))
        where = f", after step {position} of it" if position else ""
        notes.append(f"resuming {resume_path} at epoch {int(state['epoch']) + 1}{where}")
        length = int(state.get("scheduler", {}).get("T_max", config.epochs))
        if config.epochs > length:
            added = (
                f"epoch {config.epochs} runs"
                if config.epochs == length + 1
                else (f"epochs {length + 1}–{config.epochs} run")
            )
            notes.append(
                f"note: the learning rate keeps its schedule (cosine over the run's first {length} epochs, "
                f"ending at 0): {added} at that final value"
            )
    threads = _thread_count(config, state, notes)
    drop_last = _drop_last(config, model, len(train_set), notes)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, drop_last=drop_last, transform=train_tf)
    return _Setup(
        config, out, resume_path, train_set, val_set, test_set, input_shape, num_classes, model, opt, scheduler,
        loader, eval_tf, notes, threads,
    )  # fmt: skip


def _thread_count(config: RunConfig, state: dict[str, Any] | None, notes: list[str]) -> int:
    """The threads the run trains with, decided once, before the first step: ``--threads`` (a
    count, or auto: the cores free now), else the count the resumed checkpoint recorded, else
    the data set's preference, else bprop's default. How bprop splits work, and so the last
    bits of the results, depends on it; a resumed run on another count says so."""
    saved = state.get("threads") if state is not None else None
    if config.threads is None and saved is not None:
        return int(saved)
    threads = runtime.resolve(config.threads or dataset_spec(config.data).threads)
    if saved is not None and int(saved) != threads:
        notes.append(
            f"note: {threads} thread{'s' * (threads != 1)} where the checkpoint trained with {saved}: "
            "results will differ from an uninterrupted run in the last bits"
        )
    return threads


def resume_checkpoint(resume: bool | str | os.PathLike | None, out: str | os.PathLike | None) -> Path | None:
    """The checkpoint that ``resume`` names: None for False or None, ``out``/last.npz for True or
    "" (a bare ``--resume``), else the path given; RunError if there is none."""
    if resume is False or resume is None:
        return None
    if resume is True or resume == "":
        if not out:
            raise RunError("--resume needs --out DIR (the folder of the run to continue) or a checkpoint path")
        path = Path(out) / "last.npz"
    else:
        path = Path(resume)
    if not path.exists():
        raise RunError(f"--resume: no checkpoint at {path}")
    return path


def _checkpoint_to_resume(
    config: RunConfig, resume: bool | str | os.PathLike, out: Path | None
) -> tuple[Path | None, dict[str, Any] | None]:
    path = resume_checkpoint(resume, out)
    if path is None:
        return None, None
    state, saved = read_checkpoint(path)
    differing = {k: v for k, v in config.to_dict().items() if v != saved.to_dict()[k]}
    try:
        saved.resumed_with(differing)
    except ConfigError as err:
        raise RunError(str(err)) from None
    done, mid_epoch = int(state["epoch"]), bool(state.get("partial_epoch"))
    if done >= config.epochs and not mid_epoch:
        raise RunError(
            f"--epochs {config.epochs}: the run in {path} has already trained {done} epoch{'s' * (done != 1)}; "
            f"give {flag('epochs')} above {done} to train on"
        )
    return path, state


def _check_out(out: Path, option: str, resume_path: Path | None, overwrite: bool) -> RunLock:
    """Check that the run may write in ``out`` and lock it (the lock is returned, held): it is
    a folder or can be made one, no other run is using it, and it holds no run that this one
    would replace without --overwrite (resuming continues the run it holds, not another one)."""
    why = broken_link(out)  # a dangling link, or a loop of links
    if why is not None:
        raise RunError(f"{option} {out} is {why}: give a folder")
    if out.exists() and not out.is_dir():
        raise RunError(f"{option} {out} is a file, not a folder")
    parent = out if out.is_dir() else next((p for p in out.parents if p.exists()), Path("."))
    if not parent.is_dir():  # out lies under a file: no folder can be made there
        raise RunError(f"{option} {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"{option} {out}: {parent} is not writable")
    lock = RunLock(out, option)
    try:
        lock.acquire()
    except LockError as err:
        raise RunError(str(err)) from None
    except OSError as err:
        raise RunError(f"{option} {out}: cannot create the folder ({err.strerror})") from None
    try:
        _check_no_other_run(out, option, resume_path, overwrite)
    except BaseException:
        lock.release()
        raise
    return lock


def _check_no_other_run(out: Path, option: str, resume_path: Path | None, overwrite: bool) -> None:
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if not existing or overwrite:
        return
    if resume_path is None:
        raise RunError(
            f"{option} {out} already holds a run ({existing[0]}): give --resume to continue it "
            "or --overwrite to replace it"
        )
    if resume_path.resolve().parent != out.resolve():  # resuming run A into the folder of run B
        raise RunError(
            f"{option} {out} already holds another run ({existing[0]}); continuing {resume_path} there would "
            f"replace it: give a new folder as {option}, or {option} {resume_path.parent} to continue in place"
        )


def _num_classes(train: Dataset, test: Dataset) -> int:
    return int(max(np.max(d.arrays()[1]) for d in (train, test))) + 1


def _drop_last(config: RunConfig, model: nn.Module, n_train: int, notes: list[str]) -> bool:
    """Drop an epoch's last batch when it would hold one sample and the model has batch norm,
    which cannot normalise a single sample in training."""
    if not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules()):
        return False
    if config.batch_size < 2:  # every batch would be one sample: no batch to drop, refuse
        raise RunError(
            "--batch-size 1 is too few for batch norm, which normalises by the batch's statistics: "
            "give --batch-size 2 or more, or --no-batchnorm"
        )
    per_rank = math.ceil(n_train / dist.world_size())
    if per_rank < 2:
        raise RunError(f"{per_rank} training sample per process is too few for batch norm: use --no-batchnorm")
    if per_rank % config.batch_size != 1:
        return False
    notes.append(
        f"note: the last batch of each epoch would hold 1 sample ({per_rank} = "
        f"{per_rank // config.batch_size} × {config.batch_size} + 1), too few for batch norm: it is left out"
    )
    return True


def _train(setup: _Setup, extra_callbacks: Sequence[Callback]) -> RunResult:
    config, out, main = setup.config, setup.out, dist.is_main()
    quiet = config.quiet or not main
    if out is not None and main:
        _clean_out(out, remove_run=setup.resume is None)
    saved = {**config.to_dict(), "input_shape": list(setup.input_shape), "num_classes": setup.num_classes}
    if dataset_spec(config.data).task == "language-model":  # `bprop sample` needs the characters of the ids
        saved["vocabulary"] = class_names(setup.train_set)
    callbacks: list[Callback] = []
    callbacks += [ModelCheckpoint(out, config=saved), CSVLogger(out / "history.csv")] if out else []
    if config.patience is not None:
        callbacks.append(EarlyStopping("val_loss", patience=config.patience))
    callbacks += list(extra_callbacks)
    report = None
    if config.report is not None and main:
        from bprop.viz.report import RunReport  # the one upward import: see tests/test_floors.py

        report = RunReport(Path(config.report), setup.eval_transform)
        callbacks.append(report)
    profiler = ProfileFirstEpoch(memory=config.profile_memory) if config.profile or config.profile_memory else None
    callbacks += [profiler] if profiler else []
    if not quiet:
        for note in setup.notes:
            print(note)
        if dist.is_distributed():
            print(
                f"data-parallel over {dist.world_size()} processes: {config.batch_size} samples per process "
                f"and step, {config.batch_size * dist.world_size()} in all"
            )
        n_params = sum(p.numel() for p in setup.model.parameters())
        print(
            f"training {config.model} ({n_params:,} parameters) on {config.data}: {len(setup.train_set)} train / "
            f"{len(setup.val_set or [])} validation / {len(setup.test_set)} test samples"
        )
    try:
        history = fit(
            setup.model,
            setup.loader,
            val=setup.val_set,
            loss=nn.CrossEntropyLoss(),
            optimizer=setup.optimizer,
            epochs=config.epochs,
            scheduler=setup.scheduler,
            callbacks=callbacks,
            target_loss=config.target_loss,
            time_limit=config.time_limit,
            grad_tol=config.grad_tol,
            val_transform=setup.eval_transform,
            resume=setup.resume,
            quiet=config.quiet,
            distributed=dist.is_distributed(),
        )
    finally:
        if profiler:
            profiler.close()  # after an error: stop recording, print nothing
    result = RunResult(
        config, setup.model, history, None, out, setup.input_shape, setup.num_classes, setup.test_set,
        setup.eval_transform,
    )  # fmt: skip
    if main:
        result.test = evaluate(setup.model, setup.test_set, transform=setup.eval_transform)
        if out is not None:
            _write_metrics(out / "metrics.json", result)
        if report is not None:
            result.report = report.write(result)
    return result


def _clean_out(out: Path, remove_run: bool) -> None:
    """Create ``out``; remove temporary files a killed run left, and (when not resuming: the
    user gave --overwrite, or the folder held no run) the files of a previous run."""
    out.mkdir(parents=True, exist_ok=True)
    for path in out.iterdir():
        if STALE_TEMP.match(path.name) or (remove_run and path.name in RUN_FILES):
            path.unlink(missing_ok=True)


def class_names(dataset: Dataset) -> list[str] | None:
    """The class names of ``dataset`` or of the data set it is a subset of."""
    while not hasattr(dataset, "classes") and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    return getattr(dataset, "classes", None)


def bits_per_token(loss: float) -> float:
    """A mean cross-entropy in nats as bits per token (character): loss / ln 2."""
    return loss / math.log(2)


def _write_metrics(path: Path, result: RunResult) -> None:
    test, history = result.test, result.history
    if "accuracy" not in test:  # a language model: the held-out loss, also in bits per character
        summary = {
            "test_loss": test["loss"],
            "test_bits_per_char": bits_per_token(test["loss"]),
            "epochs": len(history.epochs),
            "stop_reason": history.stop_reason,
        }
        atomic_write_bytes(path, json.dumps(summary, indent=1).encode())
        return
    summary = {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "top5_accuracy": test["top5_accuracy"],
        "epochs": len(history.epochs),
        "stop_reason": history.stop_reason,
        "classes": class_names(result.test_set),
        "confusion_matrix": test["confusion_matrix"].tolist(),
        **{k: test[k].tolist() for k in ("precision", "recall", "f1")},
    }
    atomic_write_bytes(path, json.dumps(summary, indent=1).encode())


__all__ = ["RunError", "RunResult", "bits_per_token", "model_from_checkpoint", "read_checkpoint", "run"]
