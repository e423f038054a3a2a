"""The ``bprop`` command: train and evaluate models on real data.

    bprop train                         # the notes' fully connected net on the embedded digits
    bprop train --data mnist --data-dir ../shared/data --model lenet5 --epochs 5 --out runs/lenet
    bprop train --out runs/lenet --resume
    bprop eval runs/lenet/best.npz
    bprop exercise batchnorm --out bn.py   # write batch norm's backward yourself …
    bprop check bn.py                      # … and have it graded against bprop's

Each subcommand is one function (``cmd_train``, ``cmd_eval``…) registered in ``SUBCOMMANDS``
with the function that adds its arguments. ``bprop train`` is arguments → ``RunConfig`` →
``bprop.train.run``: its flags, their help and ranges, and the TOML keys of ``--config`` are
generated from RunConfig's fields (add an option there, not here).

A user's mistake ends in one line on stderr: exit status 2 for bad input (options, data,
files), 3 for a diverged run, 130 for Ctrl-C; never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import itertools
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import bprop as bp
from bprop import distributed as dist
from bprop import nn
from bprop.data import Dataset
from bprop.data.datasets import DatasetError
from bprop.data.datasets.text import encode
from bprop.data.registry import DATASETS, dataset_spec, load_dataset
from bprop.exercise import ExerciseError, check_file, names, write_exercise
from bprop.nn.builder import ARCHITECTURE_OPTIONS, MODEL_USES
from bprop.nn.sequence_models import sample_tokens
from bprop.serialization import atomic_write_bytes
from bprop.train import evaluate
from bprop.train.fit import DivergenceError
from bprop.train.run import (
    RunError,
    bits_per_token,
    checkpoint_file,
    class_names,
    model_from_checkpoint,
    read_checkpoint,
    run,
)
from bprop.train.run_config import ConfigError, RunConfig, check_option, describe_range, flag, options

USER_ERRORS = (RunError, ConfigError, DatasetError, ExerciseError)
EXIT_USER_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130
NOT_IN_CONFIG_FILES = ("resume", "overwrite", "workers", "config")  # actions of one command, not settings
ONNX_OPSETS = (17, 21)  # to_onnx writes opset ≥ 17; onnxruntime ≥ 1.18 runs up to 21


# ----- train -------------------------------------------------------------------------------
TRAIN_EXAMPLES = """examples:
  bprop train                                   # fcnet on the embedded digits, a few seconds
  bprop train --data mnist --data-dir DIR --download --out runs/mlp
  bprop train --data fashion-mnist --data-dir DIR --model lenet5 --epochs 5
  bprop train --out runs/mlp --resume --epochs 20   # carry on from runs/mlp/last.npz with its options
  bprop train --config run.toml --lr 0.01       # TOML keys are the options' names (lr, batch-size…)

defaults per data set (flags and --config override them):
"""


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = TRAIN_EXAMPLES + "\n".join(
        f"  {name:<14}" + ", ".join(f"{k.replace('_', '-')} {_show(v)}" for k, v in spec.defaults.items())
        for name, spec in DATASETS.items()
    )
    for f in options():
        _add_option(p, f)
    p.add_argument(
        "--resume", nargs="?", const="", metavar="CHECKPOINT",
        help="continue a run from its checkpoint (default OUT/last.npz) with its options; only "
        + ", ".join(flag(f.name) for f in options() if f.metadata["resumable"]) + " may change",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file of option values (flags win)")
    p.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="data-parallel processes on this machine, at most one per core, run by mpirun (needs MPI; default 1)",
    )  # fmt: skip


def _add_option(p: argparse.ArgumentParser, f: dataclasses.Field) -> None:
    """The flag of one RunConfig field; only flags the user gives appear in the namespace."""
    meta, name = f.metadata, flag(f.name)
    if meta["per_data_set"]:
        default = "per data set, see below"
    elif f.default is None or f.default is False:
        default = "off"
    else:
        default = "on" if f.default is True else _show(f.default)
    if meta["kind"] == "bool":
        action = argparse.BooleanOptionalAction if f.default else "store_true"
        p.add_argument(name, action=action, default=argparse.SUPPRESS, help=f"{meta['help']} (default: {default})")
        return
    text = meta["help"] + (f", {describe_range(f.name)}" if meta["kind"] in ("int", "float") else "")
    types = {"int": int, "float": float, "str": str, "sizes": str}
    metavar = meta["metavar"] or f.name.split("_")[-1].upper()
    metavar = "{" + ",".join(meta["choices"]()) + "}" if meta["choices"] else metavar
    p.add_argument(
        name, type=types[meta["kind"]], default=argparse.SUPPRESS, metavar=metavar, help=f"{text} (default: {default})"
    )


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def config_file_values(path: str) -> dict[str, Any]:
    """The option values of a TOML file (keys spelt like the flags, with - or _), each checked
    like the same option on the command line."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise RunError("--config needs Python 3.11+ or the tomli package") from None
    where = f"--config {path}"
    if not path:
        raise RunError("--config needs a file name, got an empty one")
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise RunError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"{where}: is a folder, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RunError(f"{where}: cannot read it ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise RunError(f"{where}: not valid TOML: {err}") from None
    values = {}
    known = {f.name for f in options()}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name in NOT_IN_CONFIG_FILES:
            raise RunError(f"{where}: {key!r} cannot be set in a config file; give {flag(name)} on the command line")
        if name not in known:
            raise RunError(f"{where}: unknown option {key!r} (keys are the options' names, e.g. batch-size, lr)")
        try:
            values[name] = check_option(name, value)
        except ConfigError as err:
            raise RunError(f"{where}: {err}") from None
    return values


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig options the user gave: --config file values, overridden by flags."""
    given = config_file_values(args.config) if args.config is not None else {}
    fields = {f.name for f in options()}
    given.update({k: v for k, v in vars(args).items() if k in fields})
    # RunConfig cannot tell this pair from --no-batchnorm alone: batchnorm is normalization's default
    if given.get("normalization") == "batchnorm" and given.get("batchnorm") is False:
        raise RunError("--no-batchnorm turns normalisation off, --normalization batchnorm on: give one")
    return given


def _max_workers() -> int:
    """The most --workers: one per core, as more only take turns on the cores (and thousands
    would swamp the machine); at least 2, so that the README's `--workers 2` runs anywhere."""
    return max(2, os.cpu_count() or 1)


def train_config(args: argparse.Namespace) -> tuple[RunConfig, Path | None]:
    """(the run's configuration, the checkpoint to resume or None), checked."""
    given = given_options(args)
    if not 1 <= args.workers <= _max_workers():
        raise RunError(
            f"--workers must be an integer in [1, {_max_workers()}] (one process per core of this machine), "
            f"got {args.workers}"
        )
    if args.resume is None:
        config = RunConfig(**given)
        _check_model_options(config.model, given)
        return config, None
    out = given.get("out") or given.get("report")
    if args.resume:
        checkpoint = Path(args.resume)
    elif out:
        checkpoint = Path(out) / "last.npz"
    else:
        raise RunError("--resume needs --out DIR (the folder of the run to continue) or a checkpoint path")
    if not checkpoint.exists():
        raise RunError(f"--resume: no checkpoint at {checkpoint}")
    return read_checkpoint(checkpoint)[1].resumed_with(given), checkpoint


def _check_model_options(model: str, given: dict[str, Any]) -> None:
    """Refuse an architecture option the model does not read (--dropout for lenet5): the run
    would silently ignore it."""
    uses = MODEL_USES.get(model)
    if uses is None:  # a model registered without saying what it reads
        return
    for name in given:
        option = "normalization" if name == "batchnorm" else name
        if option in ARCHITECTURE_OPTIONS and option not in uses:
            reads = f"; of {', '.join(map(flag, ARCHITECTURE_OPTIONS))} it reads " + (
                ", ".join(flag(o) for o in ARCHITECTURE_OPTIONS if o in uses) or "none"
            )
            raise RunError(f"{flag(name)} has no effect on --model {model}{reads}")


def cmd_train(args: argparse.Namespace) -> int:
    config, checkpoint = train_config(args)
    recorder, report_dir = None, Path(config.report) if config.report else None
    callbacks: list[Any] = []
    if report_dir is not None and dataset_spec(config.data).task == "language-model":
        raise RunError("--report draws a classifier's plots and examples; for a language model use --out DIR")
    if report_dir is not None:
        from bprop.viz.delta_recorder import DeltaRecorder

        recorder = _recorder(dataset_spec(config.data).transforms(augment=False)[1])
        callbacks = [recorder, DeltaRecorder()]
    result = run(config, resume=checkpoint or False, overwrite=args.overwrite, callbacks=callbacks)
    if not dist.is_main():
        return 0
    test, history = result.test, result.history
    score = (
        f"test accuracy {test['accuracy']:.2%}"
        if "accuracy" in test
        else f"held-out {bits_per_token(test['loss']):.3f} bits per character"
    )
    print(
        f"{score}  test loss {test['loss']:.4f}  "
        f"({history.stop_reason}, {sum(e['seconds'] for e in history.epochs):.1f} s training)"
    )
    if result.history.stop_reason.startswith("time limit") and result.out is not None:
        print(f"to train on: bprop train --out {result.out} --resume")
    if report_dir is not None:
        _finish_report(result, recorder, callbacks[1], report_dir)
    return 0


def _recorder(transform: Callable | None) -> Any:
    """A VizRecorder that takes its probe (64 training inputs) and its pace (ten records an
    epoch) from the run's loader when training begins."""
    try:
        from bprop.viz import VizRecorder
    except ImportError as err:
        raise RunError(f"--report: {err}") from None

    class RunRecorder(VizRecorder):
        def on_train_begin(self, trainer: Any) -> None:
            loader = trainer.loader
            probe = loader.dataset.gather(np.arange(min(64, len(loader.dataset))))[0]
            self.probe = transform(probe) if transform is not None else np.asarray(probe)
            self.every = max(1, len(loader) // 10)

    return RunRecorder()


def _finish_report(result: Any, recorder: Any, deltas: Any, report_dir: Path) -> None:
    out = result.out
    recorder.save(report_dir / "viz.npz")
    deltas.remove_hooks()
    deltas.save(report_dir / "delta.npz")
    save_misclassified(result.model, result.test_set, result.eval_transform, report_dir / "examples.npz")
    if out != report_dir:
        for name in ("last.npz", "metrics.json"):
            atomic_write_bytes(report_dir / name, (out / name).read_bytes())
    print(f"report: {build_run_report(report_dir)}")


def save_misclassified(
    model: nn.Module, test_set: Dataset, transform: Callable | None, path: Path, limit: int = 25
) -> None:
    """The first ``limit`` misclassified test inputs (untransformed), their true and predicted labels."""
    from bprop.train import predict

    inputs, targets = (np.asarray(a) for a in test_set.arrays()[:2])
    pred = predict(model, test_set, transform=transform).argmax(axis=1)
    wrong = np.flatnonzero(pred != targets)[:limit]
    classes = class_names(test_set) or [str(c) for c in range(10)]
    bp.save(
        {
            "images": inputs[wrong].astype(np.float32),
            "true": targets[wrong],
            "pred": pred[wrong],
            "classes": list(classes),
        },
        path,
    )


def build_run_report(run_dir: Path) -> Path:
    """report.html from what a run left in ``run_dir`` (last.npz, metrics.json, viz.npz, examples.npz)."""
    import json

    from bprop.viz import VizRecorder
    from bprop.viz.delta_recorder import DeltaRecorder
    from bprop.viz.report import write_report

    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a folder: give the folder of a run written with --out or --report")
    checkpoint = run_dir / "last.npz"
    if not checkpoint.exists():
        raise RunError(f"{run_dir} has no last.npz: give the folder of a run written with --out or --report")
    model, run_config, state = model_from_checkpoint(checkpoint)
    if dataset_spec(run_config.data).task == "language-model":
        raise RunError(
            f"{run_dir} holds a language model ({run_config.model}); report draws a classifier's plots and "
            f"examples: see {run_dir / 'metrics.json'}, or `bprop sample {checkpoint} --prompt TEXT`"
        )
    config = state["config"]
    metrics = _run_file(run_dir / "metrics.json", lambda path: json.loads(path.read_text())) or {}
    recorder = _run_file(run_dir / "viz.npz", VizRecorder.load) or VizRecorder()
    deltas = _run_file(run_dir / "delta.npz", DeltaRecorder.load)
    examples = _run_file(run_dir / "examples.npz", bp.load)
    if not recorder.weights:
        recorder.weights = {n: p.data for n, p in model.named_parameters() if p.ndim >= 2}
    classes = examples["classes"] if examples else [str(c) for c in range(config["num_classes"])]
    try:
        return write_report(
            run_dir,
            config,
            model.summary(tuple(config["input_shape"])),
            metrics,
            state.get("history", {}).get("epochs", []),
            recorder,
            classes,
            examples,
            deltas,
        )
    except ImportError as err:
        raise RunError(str(err)) from None


def _run_file(path: Path, read: Callable[[Path], Any]) -> Any:
    """What ``read`` makes of one file of a run, None when the run has none; a damaged file is
    a RunError that names it."""
    if not path.exists():
        return None
    try:
        return read(path)
    except (ValueError, OSError, KeyError) as err:  # json.JSONDecodeError is a ValueError
        message = str(err).removeprefix("bp.load: ")
        raise RunError(message if str(path) in message else f"{path} is damaged: {message}") from None


def cmd_report(args: argparse.Namespace) -> int:
    if not args.run_dir:  # Path("") would be the current folder
        raise RunError("give the folder of a run (bprop train --out DIR), not an empty name")
    print(f"wrote {build_run_report(Path(args.run_dir))}")
    return 0


def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="the folder of a finished run (bprop train --out DIR or --report DIR)")


# ----- explain -----------------------------------------------------------------------------
EXPLAIN_MAX_WEIGHTS = 400  # every number is printed: beyond this the output is unreadable
# the options of one kind of explanation default to None, so that giving one to another kind
# (--steps without --rnn) is an error, not silently ignored; these values are filled in after
EXPLAIN_DEFAULTS = {
    "activation": "sigmoid", "loss": "mse",  # the dense network's
    "size": 5, "kernel": 3, "stride": 2, "padding": 1,  # --conv's
    "steps": 10,  # --rnn's
}  # fmt: skip
CONV_OPTIONS = ("size", "kernel", "stride", "padding")


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(n) for n in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise RunError(f"--sizes needs at least two positive layer sizes separated by commas, got {text!r}")
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    if weights > EXPLAIN_MAX_WEIGHTS:
        raise RunError(
            f"--sizes {text}: {weights:,} weights is too many to show every number; "
            f"explain takes at most {EXPLAIN_MAX_WEIGHTS} (e.g. --sizes 4,5,3)"
        )
    return sizes


def _positive(name: str, value: int, low: int = 1, high: int = 32) -> int:
    if not low <= value <= high:
        raise RunError(f"--{name} must be an integer in [{low}, {high}], got {value}")
    return value


def _explained_case(args: argparse.Namespace) -> tuple[Any, Any, Any, str]:
    """(model, x, y, loss) for explain's options; model None is the classic teaching example."""
    from bprop.viz import build_network
    from bprop.viz.cases import checkpoint_case, model_case

    try:
        if args.checkpoint:
            _check_explainable(args.checkpoint)
            model, x, y, _ = checkpoint_case(args.checkpoint, 4 if args.samples is None else args.samples)
            return model, x, y, "cross_entropy"
        if args.model:
            batch = 4 if args.batch is None else args.batch
            model, x, y = model_case(args.model, args.batchnorm, args.dropout or 0.0, batch, args.seed)
            return model, x, y, "cross_entropy"
    except ValueError as err:
        raise _explain_error(err) from None
    if args.sizes is None and args.activation == "sigmoid" and args.loss == "mse":
        return None, None, None, "mse"
    sizes = _layer_sizes(args.sizes or "2,2,2")
    model = build_network(sizes, args.activation, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, sizes[0])
    y = np.eye(sizes[-1])[rng.integers(sizes[-1])] if args.loss == "cross_entropy" else rng.uniform(0, 1, sizes[-1])
    return model, x, y, args.loss


def _check_explainable(path: str) -> None:
    """Refuse a checkpoint whose layers explain has no derivation for, saying what it holds;
    checked before its data is loaded, so that a language model is refused for what it is."""
    from bprop.viz.explain import unexplainable_layers

    model, config, _ = model_from_checkpoint(path)
    layers = unexplainable_layers(model)
    if layers:
        kind = "language model" if dataset_spec(config.data).task == "language-model" else "classifier"
        raise RunError(
            f"--checkpoint {path} holds a {kind} ({config.model}: layers {', '.join(layers)}), which explain cannot "
            "show: it explains chains of Linear, Conv2d, pooling, batch-norm, dropout and activation layers, "
            "such as fcnet, convnet and lenet5 checkpoints"
        )


def _explain_error(err: ValueError) -> RunError:
    """The library's message without its own "explain:" prefix: the CLI already starts the line
    with "bprop explain: error:"."""
    return RunError(str(err).removeprefix("explain: "))


def _check_explain_options(args: argparse.Namespace) -> None:
    """Options that do not go together, or apply to another kind of explanation."""
    groups = {
        "--checkpoint": args.checkpoint,
        "--model": args.model,
        "--conv": args.conv,
        "--rnn": args.rnn,
        "--sizes": args.sizes,
    }
    chosen = [name for name, value in groups.items() if value]
    if len(chosen) > 1:
        raise RunError(f"{' and '.join(chosen)} do not go together: explain one network at a time")
    extras = {
        "--batchnorm": (args.batchnorm, "--model"),
        "--dropout": (args.dropout is not None, "--model"),
        "--batch": (args.batch is not None, "--model"),
        "--samples": (args.samples is not None, "--checkpoint"),
        "--steps": (args.steps is not None, "--rnn"),
        **{f"--{name}": (getattr(args, name) is not None, "--conv") for name in CONV_OPTIONS},
    }
    for name, (given, needs) in extras.items():
        if given and not groups[needs]:
            raise RunError(f"{name} applies to {needs}")
    others = [name for name in ("--checkpoint", "--model", "--conv", "--rnn") if groups[name]]
    for name in ("--activation", "--loss"):
        if getattr(args, name[2:]) is not None and others:
            raise RunError(f"{name} applies to a dense network (--sizes), not to {others[0]}")
    if (args.conv or args.rnn) and args.lang != "en":
        raise RunError(f"--lang zh is not available for {'--conv' if args.conv else '--rnn'} yet; drop --lang")
    if not (np.isfinite(args.lr) and args.lr > 0):
        raise RunError(f"--lr must be a number > 0, got {args.lr}")
    check_option("seed", args.seed)  # the range of train's --seed: NumPy refuses a negative one


def _viewer_beside(out: str, model: Any, x: Any, y: Any, loss: str) -> str:
    """Write the step-through viewer of the same network and batch next to ``out``; its file name."""
    from bprop.viz import teaching_network, view

    if model is None:
        model, x, y = teaching_network()
    graph_model = copy.deepcopy(model).to(np.float64)
    xt = bp.tensor(np.asarray(x, dtype=np.float64))
    xt = xt.reshape(1, -1) if xt.ndim == 1 else xt
    output = graph_model(xt)
    target = np.asarray(y)
    if loss == "cross_entropy":
        cost = nn.functional.cross_entropy(
            output, target if target.dtype.kind in "iu" else target.reshape(output.shape)
        )
    else:
        cost = nn.functional.mse_loss(output, bp.tensor(target.reshape(output.shape).astype(np.float64)))
    path = Path(out).with_name(Path(out).stem + "-graph.html")
    view(cost, dict(graph_model.named_parameters()), path)
    return path.name


def cmd_explain(args: argparse.Namespace) -> int:
    from bprop.viz import explain, explain_conv

    _check_explain_options(args)
    for name, value in EXPLAIN_DEFAULTS.items():
        setattr(args, name, value if getattr(args, name) is None else getattr(args, name))
    if args.out is not None:
        _check_writable_file(args.out, "--out")
    viewer = None
    if args.rnn:
        from bprop.viz.explain_rnn import explain_rnn

        result: Any = explain_rnn(args.rnn, _positive("steps", args.steps, high=100), seed=args.seed)
        text = {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[args.format]()
    elif args.conv:
        size, kernel = _positive("size", args.size), _positive("kernel", args.kernel)
        stride, padding = _positive("stride", args.stride), _positive("padding", args.padding, low=0)
        if kernel > size + 2 * padding:
            raise RunError(
                f"--kernel {kernel} does not fit the padded input of {size + 2 * padding}×{size + 2 * padding}"
            )
        result = explain_conv((size, size), (kernel, kernel), (stride, stride), (padding, padding), seed=args.seed)
        text = {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[args.format]()
    else:
        model, x, y, loss = _explained_case(args)
        try:
            result = explain(model, x, y, loss=loss, lr=args.lr)
        except ValueError as err:
            raise _explain_error(err) from None
        if args.format == "html" and args.out:
            viewer = _viewer_beside(args.out, model, x, y, loss)
        renders = {"text": result.to_text, "markdown": result.to_markdown}
        text = renders[args.format](lang=args.lang) if args.format in renders else result.to_html(args.lang, viewer)
    if args.out:
        atomic_write_bytes(args.out, text.encode("utf-8"))
        print(f"wrote {args.out}" + (f" and the step-through viewer {viewer} beside it" if viewer else ""))
    else:
        print(text)
    return 0


def add_explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", help="layer sizes, e.g. 3,4,2 (default: the 2-2-2 teaching network)")
    p.add_argument(
        "--activation", choices=("sigmoid", "tanh", "relu", "identity"), help="--sizes: activation (default sigmoid)"
    )
    p.add_argument("--loss", choices=("mse", "cross_entropy"), help="--sizes: loss (default mse)")
    p.add_argument("--model", choices=("fcnet", "convnet", "lenet5"), help="one of bprop's models on a batch of digits")
    p.add_argument("--batchnorm", action="store_true", help="--model fcnet: batch norm after the hidden layer")
    p.add_argument(
        "--dropout", type=float, metavar="P", help="--model fcnet: dropout probability after the hidden layer"
    )
    p.add_argument("--batch", type=int, metavar="N", help="--model: samples in the batch, 1 to 64 (default 4)")
    p.add_argument("--checkpoint", metavar="FILE", help="explain a trained model (RUN/best.npz) on its own test data")
    p.add_argument("--samples", type=int, metavar="N", help="--checkpoint: test samples in the batch (default 4)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate of the gradient-descent step (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and sample")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the words (zh: Chinese)")
    p.add_argument("--out", help="write to this file instead of the terminal (html: with the viewer beside it)")
    p.add_argument("--conv", action="store_true", help="a single-channel convolution instead of a dense network")
    p.add_argument("--size", type=int, help="--conv: input height and width, 1 to 32 (default 5)")
    p.add_argument("--kernel", type=int, help="--conv: kernel size, 1 to 32 (default 3)")
    p.add_argument("--stride", type=int, help="--conv: stride, 1 to 32 (default 2)")
    p.add_argument("--padding", type=int, help="--conv: padding, 0 to 32 (default 1)")
    p.add_argument(
        "--rnn", choices=("rnn", "lstm"), help="backprop through time in a small RNN or LSTM instead, δ step by step"
    )
    p.add_argument("--steps", type=int, help="--rnn: time steps, 1 to 100 (default 10)")


# ----- gradcheck ---------------------------------------------------------------------------
def cmd_gradcheck(args: argparse.Namespace) -> int:
    from bprop.viz.cases import checkpoint_case

    if not 1 <= args.entries <= 1000:
        raise RunError(f"--entries must be an integer in [1, 1000], got {args.entries}")
    check_option("seed", args.seed)
    checkpoint_file(args.checkpoint)  # a missing file or a folder is worded as in eval and train --resume
    try:
        model, x, y, config = checkpoint_case(args.checkpoint, args.samples)
    except ValueError as err:
        raise RunError(str(err)) from None
    loss = nn.functional.cross_entropy(model(bp.tensor(x)), y)
    report = bp.gradcheck_graph(loss, entries=args.entries, seed=args.seed)
    print(f"{args.checkpoint}: {config.model} on {_count(len(y), 'test sample')} of {config.data}, float64")
    print(report.table())
    return 0 if report.ok else 1


def _count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless n is 1: "1 test sample", "8 test samples"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def add_gradcheck_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument("--samples", type=int, default=8, metavar="N", help="test samples in the batch, 1 to 64 (default 8)")
    p.add_argument("--entries", type=int, default=16, metavar="K", help="finite differences per input (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the upstream gradients and of the entries checked")


def _check_writable_file(path: str, option: str) -> None:
    """A file may be written at ``path``: it is not a folder and its folder exists and is writable."""
    if not path:  # Path("") would be the current folder
        raise RunError(f"{option} needs a file name, got an empty one")
    target = Path(path)
    if target.is_dir():
        raise RunError(f"{option} {path} is a folder; give a file name")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise RunError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"{option} {path}: the folder {parent} is not writable")


# ----- eval and export ---------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    model, config, state = model_from_checkpoint(args.checkpoint)
    data = args.data or config.data
    spec = dataset_spec(data)
    _, test_set = load_dataset(data, args.data_dir or config.data_dir, args.download)
    shape = tuple(np.shape(test_set.gather(np.arange(1))[0])[1:])
    if shape != tuple(state["config"]["input_shape"]):
        raise RunError(
            f"{args.checkpoint} takes inputs of shape {tuple(state['config']['input_shape'])}, but {data} has {shape}"
        )
    labels = np.asarray(test_set.arrays()[1])
    if labels.max() >= state["config"]["num_classes"]:
        raise RunError(
            f"{args.checkpoint} knows {state['config']['num_classes']} classes, but {data} has label {labels.max()}"
        )
    if spec.task == "language-model":
        return _eval_language_model(args.checkpoint, model, state, data, test_set)
    results = evaluate(model, test_set, transform=spec.transforms(augment=False)[1])
    print(
        f"{data} test accuracy {results['accuracy']:.2%}  loss {results['loss']:.4f}  "
        f"top-5 {results['top5_accuracy']:.2%}  ({_count(len(test_set), 'sample')})"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    print(np.array2string(results["confusion_matrix"], max_line_width=200))
    names = class_names(test_set) or [str(c) for c in range(len(results["f1"]))]
    width = max(len(n) for n in [*names, "class"])
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, p, r, f, n in zip(names, results["precision"], results["recall"], results["f1"], results["support"]):
        print(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")
    return 0


def _eval_language_model(checkpoint: str, model: Any, state: dict, data: str, test_set: Dataset) -> int:
    """Held-out loss in bits per character; the text must use the model's own vocabulary (a
    token id means a character only through it)."""
    if class_names(test_set) != state["config"].get("vocabulary"):
        raise RunError(
            f"{checkpoint} was trained on other characters than {data} holds: token ids would mean different "
            "characters; evaluate it on the text it was trained on"
        )
    results = evaluate(model, test_set)
    print(
        f"{data} held-out {bits_per_token(results['loss']):.3f} bits per character  loss {results['loss']:.4f}  "
        f"({_count(len(test_set), 'window')})"
    )
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument(
        "--data",
        help="data set to evaluate on: digits, mnist, fashion-mnist, cifar10 or PATH.npz "
        "(default: the one it was trained on)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder with the data files (default: the training run's)")
    p.add_argument("--download", action="store_true", help="fetch missing data files")


def cmd_export(args: argparse.Namespace) -> int:
    low, high = ONNX_OPSETS
    if not low <= args.opset <= high:
        raise RunError(f"--opset must be an integer in [{low}, {high}], got {args.opset}")
    model, config, state = model_from_checkpoint(args.checkpoint)
    _check_writable_file(args.onnx, "--onnx")
    try:
        from bprop.export import to_onnx
    except ImportError as err:
        raise RunError(str(err)) from None
    shape = state["config"]["input_shape"]
    example = np.zeros((1, *shape), dtype=np.float32)
    try:
        path = to_onnx(model, example, args.onnx, opset=args.opset)
    except ImportError as err:
        raise RunError(f"export needs the onnx extra: pip install 'bprop[onnx]' ({err})") from None
    print(f"wrote {path} ({config.model}, input (batch, {', '.join(map(str, shape))}), opset {args.opset})")
    return 0


def add_export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument("--onnx", required=True, metavar="FILE", help="where to write the ONNX model")
    p.add_argument(
        "--opset", type=int, default=17, help=f"ONNX opset version, {ONNX_OPSETS[0]} to {ONNX_OPSETS[1]} (default 17)"
    )


# ----- exercise mode -------------------------------------------------------------------------
def cmd_exercise(args: argparse.Namespace) -> int:
    path = write_exercise(args.op, args.out)
    print(f"wrote {path}: {args.op}'s forward pass is done, its backward is yours; then run: bprop check {path}")
    return 0


def add_exercise_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("op", metavar="OP", help=f"the op to practise: {', '.join(names())}")
    p.add_argument("--out", required=True, metavar="FILE.py", help="where to write the exercise (a new file)")


def cmd_check(args: argparse.Namespace) -> int:
    check_option("seed", args.seed)
    report = check_file(args.file, seed=args.seed)
    print(report.format())
    return 0 if report.ok else 1


def add_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.py", help="an exercise written by `bprop exercise`, backward filled in")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")


# ----- sample ------------------------------------------------------------------------------
MAX_SAMPLE_LENGTH = 10_000  # one forward pass a character: about a minute; a typo's 10¹⁴ would never end


def cmd_sample(args: argparse.Namespace) -> int:
    model, _, state = model_from_checkpoint(args.checkpoint)
    vocabulary = state["config"].get("vocabulary")
    if not vocabulary:
        raise RunError(f"{args.checkpoint} is not a language model (train one with --data text:PATH)")
    if not 0 <= args.length <= MAX_SAMPLE_LENGTH:
        raise RunError(f"--length must be an integer in [0, {MAX_SAMPLE_LENGTH}], got {args.length}")
    if not args.temperature > 0:
        raise RunError(f"--temperature must be a number > 0, got {args.temperature}")
    check_option("seed", args.seed)
    prompt = encode(args.prompt, vocabulary)
    if not prompt:
        raise RunError("--prompt must hold at least one character")
    context = state["config"]["input_shape"][0]
    rng = np.random.default_rng(args.seed)
    tokens = sample_tokens(model, prompt, args.length, context, args.temperature, rng)
    print("".join(vocabulary[t] for t in tokens))
    return 0


def add_sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint of a language model (`bprop train --data text:PATH --out`)")
    p.add_argument("--prompt", required=True, help="the text to continue (characters the model has seen)")
    p.add_argument("--length", type=int, default=100, help=f"characters to add, 0 to {MAX_SAMPLE_LENGTH} (default 100)")
    p.add_argument(
        "--temperature", type=float, default=0.8, help="softmax temperature: lower is safer, higher wilder (0.8)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default 0)")


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {
    "train": (add_train_args, cmd_train, "train a model (default: the notes' fully connected net on digits)"),
    "eval": (add_eval_args, cmd_eval, "evaluate a checkpoint: accuracy, confusion matrix, per-class scores"),
    "export": (add_export_args, cmd_export, "export a checkpoint's model to ONNX"),
    "explain": (add_explain_args, cmd_explain, "backprop through a small network with every number shown"),
    "report": (add_report_args, cmd_report, "rebuild report.html of a finished run"),
    "exercise": (add_exercise_args, cmd_exercise, "write an op's forward with its backward left for you to derive"),
    "check": (add_check_args, cmd_check, "grade your backward against bprop's and finite differences"),
    "sample": (add_sample_args, cmd_sample, "continue a text with a trained character-level language model"),
    "gradcheck": (
        add_gradcheck_args,
        cmd_gradcheck,
        "check every op of a trained model's graph; name a wrong backward",
    ),
}


# ----- the command -------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # the subcommands' parsers, by name

    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        """As argparse's, but an unknown argument is reported by its command's parser ("bprop
        train: error: …", not "bprop: error: …") with the option it most resembles."""
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command = self.commands.get(getattr(parsed, "command", None) or "", self)
            command.error(f"unrecognized arguments: {' '.join(unknown)}{_did_you_mean(command, unknown[0])}")
        return parsed


def _did_you_mean(parser: argparse.ArgumentParser, unknown: str) -> str:
    flags = [s for action in parser._actions for s in action.option_strings]
    close = difflib.get_close_matches(unknown.split("=")[0], flags, n=1, cutoff=0.75) if unknown[:1] == "-" else []
    return f" (did you mean {close[0]}?)" if close else ""


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bprop", description="bprop: deep learning on NumPy with hand-derived backprop.")
    parser.add_argument("--version", action="version", version=f"bprop {bp.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (add_args, _, help_text) in SUBCOMMANDS.items():
        parser.commands[name] = sub.add_parser(name, help=help_text, description=help_text)
        add_args(parser.commands[name])
    return parser


def _without_workers(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def _launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Check the options here, then become the launcher of ``--workers`` ranks."""
    train_config(args)
    try:
        command = dist.launch_command(args.workers, ["-m", "bprop.cli", *_without_workers(argv)])
    except RuntimeError as err:
        raise RunError(str(err)) from None
    return dist.run_launched(command, dist.worker_env())


def _under_launcher() -> bool:
    return "OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ


def _dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    if getattr(args, "workers", 1) > 1 and not _under_launcher():
        return _launch(args, argv)
    return SUBCOMMANDS[args.command][1](args)


def _resume_hint(args: argparse.Namespace) -> str:
    out = getattr(args, "out", None) or getattr(args, "report", None)
    if args.command != "train":
        return ""
    if out and (Path(out) / "last.npz").exists():
        return f"; the last complete step is saved: resume with `bprop train --out {out} --resume`"
    return "; nothing was saved (give --out DIR to keep checkpoints)"


def _kept(args: argparse.Namespace) -> str:
    out = getattr(args, "out", None) or getattr(args, "report", None)
    if out and (Path(out) / "last.npz").exists():
        return f"; {Path(out) / 'last.npz'} keeps the last complete epoch"
    return ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _smaller_hint(args: argparse.Namespace) -> str:
    return "; choose smaller sizes (--hidden, --batch-size)" if args.command == "train" else ""


def _fail(args: argparse.Namespace, message: str, code: int, agreed: bool = False) -> int:
    """Print one line and return ``code``. Under MPI, after start-up (``agreed`` False) one
    rank's error ends the whole job at once; agreed errors are printed by rank 0 only."""
    if not agreed or dist.is_main():
        print(f"bprop {args.command}: {message}", file=sys.stderr, flush=True)
    if dist.is_distributed() and not agreed:
        dist.abort(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings: divergence is caught
            return _dispatch(args, argv)
    except dist.RankError as err:
        return _fail(args, f"error: {err}", EXIT_USER_ERROR, agreed=True)
    except USER_ERRORS as err:
        return _fail(args, f"error: {err}", EXIT_USER_ERROR)
    except DivergenceError as err:
        # every rank finds the divergence at the same step (fit sees to it): no abort needed
        return _fail(args, f"stopped: {err} (--lr){_kept(args)}", EXIT_DIVERGED, agreed=True)
    except KeyboardInterrupt:
        return _fail(args, f"interrupted{_resume_hint(args)}", EXIT_INTERRUPTED)
    except MemoryError as err:  # e.g. --hidden 99999999999: NumPy says how much it wanted
        return _fail(args, f"error: not enough memory: {_lower_first(str(err))}{_smaller_hint(args)}", EXIT_USER_ERROR)
    except BrokenPipeError:  # e.g. `bprop eval … | head -1`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush fails silently too
        return 141
    except OSError as err:  # a disk full, a permission changed mid-run: not a bug of ours, still one line
        return _fail(args, f"error: {err}", 1)


if __name__ == "__main__":
    sys.exit(main())
