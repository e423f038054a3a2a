"""The ``bprop`` command: train and evaluate models on real data.

    bprop train                         # the notes' fully connected net on the embedded digits
    bprop train --data mnist --data-dir ../shared/data --model lenet5 --epochs 5 --out runs/lenet
    bprop eval runs/lenet/best.npz --data mnist --data-dir ../shared/data

Each subcommand is one function (``cmd_train``, ``cmd_eval``) registered in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import bprop as bp
from bprop import distributed as dist
from bprop import nn, optim
from bprop.data import DataLoader, random_split, transforms
from bprop.data.dataset import ArrayDataset, Dataset
from bprop.data.datasets import CIFAR10, MNIST, DatasetError, FashionMNIST, load_digits, load_npz
from bprop.serialization import atomic_write_bytes
from bprop.train import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, evaluate, fit, load_checkpoint

MODELS = ("fcnet", "mlp", "convnet", "lenet5")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
# per-data-set defaults; flags and --config override them
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    # the digits nets multiply 64×256 matrices: one BLAS thread is as fast, and far faster when
    # other processes share the cores (idle threads spin-wait: 30 s instead of 2 s was measured)
    "digits": dict(model="fcnet", epochs=30, batch_size=64, lr=2e-3, hidden="256,256", dropout=0.2, threads=1),
    "mnist": dict(model="mlp", epochs=10, batch_size=128, lr=1e-3, hidden="512,256", dropout=0.2),
    "fashion-mnist": dict(model="convnet", epochs=10, batch_size=128, lr=1e-3, hidden="512,256", dropout=0.2),
    "cifar10": dict(model="convnet", epochs=20, batch_size=128, lr=1e-3, hidden="512,256", dropout=0.2),
    "npz": dict(model="mlp", epochs=20, batch_size=64, lr=1e-3, hidden="256,256", dropout=0.1),
}
NORMALISATION = {
    "mnist": (0.1307, 0.3081),
    "fashion-mnist": (0.2860, 0.3530),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


class CLIError(Exception):
    """A problem with the command line or its inputs, shown as one line."""


# ----- data -------------------------------------------------------------------------------
def data_kind(name: str) -> str:
    if name.endswith(".npz"):
        return "npz"
    if name not in DATA_DEFAULTS:
        raise CLIError(f"unknown data set {name!r}: choose digits, mnist, fashion-mnist, cifar10 or a PATH.npz")
    return name


def load_data(name: str, data_dir: str, download: bool) -> tuple[Dataset, Dataset]:
    """(train, test) for a data set name; digits and .npz files are split 80/20 with a fixed seed."""
    kind = data_kind(name)
    if kind in ("digits", "npz"):
        full = load_digits() if kind == "digits" else load_npz(name)
        train, test = random_split(full, [0.8, 0.2], seed=0)
        return train, test
    cls = {"mnist": MNIST, "fashion-mnist": FashionMNIST, "cifar10": CIFAR10}[kind]
    return cls(data_dir, train=True, download=download), cls(data_dir, train=False, download=download)


def batch_transforms(kind: str, augment: bool) -> tuple[Callable | None, Callable | None]:
    """(train transform, eval transform) applied to input batches."""
    if kind not in NORMALISATION:
        return None, None
    mean, std = NORMALISATION[kind]
    base = [transforms.ToFloat(), transforms.Normalize(mean, std)]
    if kind == "cifar10" and augment:
        return transforms.Compose(
            [transforms.RandomCrop(32, 4), transforms.RandomHorizontalFlip(), *base]
        ), transforms.Compose(base)
    return transforms.Compose(base), transforms.Compose(base)


def class_names(dataset: Dataset) -> list[str] | None:
    """The class names of ``dataset`` or of the data set it is a subset of."""
    while not isinstance(dataset, ArrayDataset) and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    return getattr(dataset, "classes", None)


def sample_shape(dataset: Dataset) -> tuple[tuple[int, ...], int]:
    """(shape of one input, number of classes)."""
    x, y = dataset.gather(np.arange(min(len(dataset), 1)))[:2]
    classes = class_names(dataset)
    return tuple(x.shape[1:]), len(classes) if classes else int(np.max(y)) + 1


# ----- models ------------------------------------------------------------------------------
def build_model(config: dict[str, Any]) -> nn.Module:
    shape, classes = tuple(config["input_shape"]), int(config["num_classes"])
    try:
        hidden = [int(h) for h in str(config["hidden"]).split(",") if h.strip()]
    except ValueError:
        hidden = []
    if not hidden or min(hidden) < 1:
        raise CLIError(
            f"--hidden takes positive layer sizes separated by commas (e.g. 256,128), got {config['hidden']!r}"
        )
    features = int(np.prod(shape))
    name = config["model"]
    if name == "fcnet":
        return nn.models.FullyConnectedNet(
            features,
            hidden,
            classes,
            normalization="batchnorm" if config["batchnorm"] else None,
            dropout=config["dropout"],
            weight_scale=config["weight_scale"],
        )
    if name == "mlp":
        layers: list[nn.Module] = [nn.Flatten()]
        for fan_in, fan_out in zip([features, *hidden], hidden):
            layers += [nn.Linear(fan_in, fan_out)]
            layers += [nn.BatchNorm1d(fan_out)] if config["batchnorm"] else []
            layers += [nn.ReLU()] + ([nn.Dropout(config["dropout"])] if config["dropout"] else [])
        return nn.Sequential(*layers, nn.Linear(([features, *hidden])[-1], classes))
    if len(shape) != 3:
        raise CLIError(f"--model {name} needs images (channels, height, width), but the inputs have shape {shape}")
    if name == "convnet":
        return nn.models.ThreeLayerConvNet(
            input_dim=shape,
            num_filters=32,
            filter_size=5,
            hidden_dim=hidden[0],
            num_classes=classes,
            weight_scale=config["weight_scale"],
        )
    if shape[1:] not in ((28, 28), (32, 32)):
        raise CLIError(f"--model lenet5 takes 28×28 or 32×32 images, not {shape[1]}×{shape[2]}")
    return nn.models.LeNet5(in_channels=shape[0], num_classes=classes, input_size=shape[1])


def build_optimizer(config: dict[str, Any], params: Any) -> optim.Optimizer:
    name, lr, wd = config["optimizer"], config["lr"], config["weight_decay"]
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=config["momentum"], weight_decay=wd, nesterov=config["momentum"] > 0)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    return optim.RMSprop(params, lr=lr, weight_decay=wd, momentum=config["momentum"])


# ----- train -------------------------------------------------------------------------------
TRAIN_EXAMPLES = """examples:
  bprop train                                   # fcnet on the embedded digits, a few seconds
  bprop train --data mnist --data-dir DIR --download --out runs/mlp
  bprop train --data fashion-mnist --data-dir DIR --model lenet5 --epochs 5
  bprop train --out runs/mlp --epochs 20 --resume  # carry on from runs/mlp/last.npz
  bprop train --config run.toml --lr 0.01       # TOML keys are the flags' names

defaults per data set (flags and --config override them):
"""


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = TRAIN_EXAMPLES + "\n".join(
        f"  {kind:<14}" + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in values.items())
        for kind, values in DATA_DEFAULTS.items()
    )
    p.add_argument("--model", choices=MODELS, help="architecture (default depends on the data set)")
    p.add_argument(
        "--data", default="digits", help="digits (embedded, default), mnist, fashion-mnist, cifar10 or PATH.npz"
    )
    p.add_argument("--data-dir", default="data", metavar="DIR", help="folder with the data files (default: ./data)")
    p.add_argument("--download", action="store_true", help="fetch missing data files (sha256-checked)")
    p.add_argument("--epochs", type=int, metavar="N", help="maximum number of epochs")
    p.add_argument("--batch-size", type=int, metavar="N", help="samples per step")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="update rule (default adam)")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum for sgd and rmsprop (default 0.9)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    p.add_argument("--dropout", type=float, help="dropout probability after each hidden layer")
    p.add_argument(
        "--batchnorm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="batch norm after each hidden affine layer (default on)",
    )
    p.add_argument("--hidden", metavar="SIZES", help="hidden layer sizes, comma separated (e.g. 256,256)")
    p.add_argument("--weight-scale", type=float, default=0.05, help="std of the Gaussian init for fcnet")
    p.add_argument(
        "--target-loss", type=float, metavar="LOSS", help="stop once the epoch's training loss is below this"
    )
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop after this many seconds")
    p.add_argument(
        "--val-split",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="hold out this fraction of the training data to validate on after each epoch; "
        "best.npz then keeps the lowest val_loss (default 0: no validation)",
    )
    p.add_argument(
        "--patience",
        type=int,
        metavar="EPOCHS",
        help="stop when val_loss has not improved for this many epochs (needs --val-split)",
    )
    p.add_argument("--no-augment", dest="augment", action="store_false", help="no random crops/flips (cifar10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="folder for last.npz, best.npz, history.csv and metrics.json")
    p.add_argument(
        "--resume", nargs="?", const="", metavar="CHECKPOINT", help="continue from CHECKPOINT (default OUT/last.npz)"
    )
    p.add_argument(
        "--config", metavar="FILE.toml", help="TOML file of option values (flags given on the command line win)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="BLAS threads (default: NumPy's, 1 for digits); needs "
        "threadpoolctl, else set OPENBLAS_NUM_THREADS before starting",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        help="also record plots and write DIR/report.html (implies --out DIR unless --out is given); needs matplotlib",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="data-parallel processes on this machine, launched with mpirun (needs MPI)",
    )


def load_config_file(path: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The option values of a TOML file (keys spelt like the flags, with - or _), checked and
    converted like the same values on the command line."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise CLIError("--config needs Python 3.11+ or the tomli package") from None
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise CLIError(f"--config: no file {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise CLIError(f"--config: {path} is not valid TOML: {err}") from None
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "config")}
    return {key.replace("-", "_"): _config_value(path, key, value, actions) for key, value in raw.items()}


def _config_value(path: str, key: str, value: Any, actions: dict[str, argparse.Action]) -> Any:
    action = actions.get(key.replace("-", "_"))
    if action is None:
        raise CLIError(f"--config: {path}: unknown option {key!r} (known: {', '.join(sorted(actions))})")
    if action.dest == "hidden" and isinstance(value, (list, int)):  # hidden = [256, 128] or 64
        value = ",".join(str(v) for v in (value if isinstance(value, list) else [value]))
    if action.nargs == 0 and not isinstance(value, bool):  # a flag such as --quiet or --batchnorm
        raise CLIError(f"--config: {path}: {key} must be true or false, got {value!r}")
    if action.type is not None and not isinstance(value, bool):
        try:
            value = action.type(value)
        except (TypeError, ValueError):
            raise CLIError(f"--config: {path}: {key} = {value!r} is not a valid {action.type.__name__}") from None
    if action.choices is not None and value not in action.choices:
        raise CLIError(f"--config: {path}: {key} must be one of {', '.join(map(str, action.choices))}, got {value!r}")
    return value


def train_config(args: argparse.Namespace) -> dict[str, Any]:
    kind = data_kind(args.data)
    config = {**DATA_DEFAULTS[kind], **{k: v for k, v in vars(args).items() if v is not None}}
    if kind == "digits" and args.model in ("convnet", "lenet5"):
        raise CLIError("the 8×8 digits are too small for the conv models; use --model fcnet or mlp")
    if not 0 <= config["val_split"] < 1:
        raise CLIError(f"--val-split must be a fraction in [0, 1), got {config['val_split']}")
    if config.get("patience") is not None and not config["val_split"]:
        raise CLIError("--patience stops on the validation loss: give --val-split too")
    return config


class StretchSchedule(Callback):
    """A run resumed with a different --epochs than it was started with gets the cosine schedule
    of the new length: T_max becomes --epochs and the lr jumps to that schedule's value at the
    current epoch, η_t = ½η₀(1 + cos(πt/T_max)). With the same --epochs nothing changes, so an
    interrupted run resumes exactly."""

    def __init__(self, epochs: int):
        self.epochs = max(epochs, 1)

    def on_train_begin(self, trainer: Any) -> None:
        schedule = trainer.scheduler
        if schedule.T_max == self.epochs:
            return
        schedule.T_max = self.epochs
        cosine = (1 + math.cos(math.pi * schedule.last_epoch / self.epochs)) / 2
        for group, base in zip(trainer.optimizer.param_groups, schedule.base_lrs):
            group["lr"] = schedule.eta_min + (base - schedule.eta_min) * cosine


@contextlib.contextmanager
def blas_threads(threads: int | None, explicit: bool) -> Iterator[None]:
    """Limit the BLAS thread pool to ``threads`` while inside, with threadpoolctl when installed."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if explicit:
            raise CLIError(
                "--threads needs the threadpoolctl package; or set OPENBLAS_NUM_THREADS (or "
                "OMP_NUM_THREADS, MKL_NUM_THREADS) before starting bprop"
            ) from None
        yield
        return
    with threadpool_limits(threads, user_api="blas"):
        yield


def cmd_train(args: argparse.Namespace) -> int:
    config = train_config(args)
    with blas_threads(config.get("threads"), explicit=args.threads is not None):
        return train_from_config(config)


def train_from_config(config: dict[str, Any]) -> int:
    """Train as `config` (defaults, TOML file and flags merged) says; print and save the results."""
    distributed = dist.init().size > 1  # started by mpirun: data-parallel, rank 0 reports
    config["quiet"] = config["quiet"] or not dist.is_main()
    bp.manual_seed(config["seed"])
    kind = data_kind(config["data"])
    train_set, test_set = load_data(config["data"], config["data_dir"], config["download"])
    config["input_shape"], config["num_classes"] = sample_shape(train_set)
    val_set = None
    if config["val_split"]:
        train_set, val_set = random_split(
            train_set, [1 - config["val_split"], config["val_split"]], seed=config["seed"]
        )
    model = build_model(config)
    opt = build_optimizer(config, model.parameters())
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"])
    train_tf, eval_tf = batch_transforms(kind, config.get("augment", True))
    loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True, transform=train_tf)
    report_dir = Path(config["report"]) if config.get("report") else None
    out = Path(config["out"]) if config.get("out") else report_dir
    # best.npz: the lowest val_loss with --val-split, else the lowest training loss
    callbacks: list[Any] = [StretchSchedule(config["epochs"])]
    callbacks += [ModelCheckpoint(out), CSVLogger(out / "history.csv")] if out else []
    if config.get("patience") is not None:
        callbacks.append(EarlyStopping("val_loss", patience=config["patience"]))
    recorder = None
    if report_dir is not None:
        from bprop.viz import VizRecorder

        probe = next(iter(DataLoader(train_set, batch_size=64, transform=eval_tf)))[0]
        recorder = VizRecorder(probe=probe, every=max(1, len(loader) // 10))
        callbacks.append(recorder)
    if distributed and not config["quiet"]:
        print(
            f"data-parallel over {dist.world_size()} processes: {config['batch_size']} samples per process "
            f"and step, {config['batch_size'] * dist.world_size()} in all"
        )
    resume = None
    if config.get("resume") is not None:
        resume = config["resume"] or (out / "last.npz" if out else None)
        if resume is None or not Path(resume).exists():
            raise CLIError(f"--resume: no checkpoint at {resume or 'OUT/last.npz (give --out)'}")
    saved = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()}
    if not config["quiet"]:
        n_params = sum(p.numel() for p in model.parameters())
        print(
            f"training {config['model']} ({n_params:,} parameters) on {config['data']}: "
            f"{len(train_set)} train / {len(val_set or [])} validation / {len(test_set)} test samples"
        )
    history = fit(
        model,
        loader,
        val=val_set,
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=config["epochs"],
        scheduler=scheduler,
        callbacks=callbacks,
        target_loss=config.get("target_loss"),
        time_limit=config.get("time_limit"),
        val_transform=eval_tf,
        resume=resume,
        quiet=config["quiet"],
        config=saved,
        distributed=distributed,
    )
    if not dist.is_main():
        return 0
    results = evaluate(model, test_set, transform=eval_tf)
    print(
        f"test accuracy {results['accuracy']:.2%}  test loss {results['loss']:.4f}  "
        f"({history.stop_reason}, {sum(e['seconds'] for e in history.epochs):.1f} s training)"
    )
    if out:
        summary = {
            "test_accuracy": results["accuracy"],
            "test_loss": results["loss"],
            "top5_accuracy": results["top5_accuracy"],
            "epochs": len(history.epochs),
            "stop_reason": history.stop_reason,
            "classes": class_names(test_set),
            "confusion_matrix": results["confusion_matrix"].tolist(),
            **{k: results[k].tolist() for k in ("precision", "recall", "f1")},
        }
        atomic_write_bytes(out / "metrics.json", json.dumps(summary, indent=1).encode())
    if report_dir is not None:
        recorder.save(report_dir / "viz.npz")
        save_misclassified(model, test_set, eval_tf, report_dir / "examples.npz")
        if out != report_dir:
            for name in ("last.npz", "metrics.json"):
                atomic_write_bytes(report_dir / name, (out / name).read_bytes())
        print(f"report: {build_run_report(report_dir)}")
    return 0


def save_misclassified(
    model: nn.Module, test_set: Dataset, transform: Callable | None, path: Path, limit: int = 25
) -> None:
    """The first ``limit`` misclassified test inputs (untransformed), their true and predicted labels."""
    from bprop.train import predict

    inputs, targets = (np.asarray(a) for a in test_set.arrays()[:2])
    pred = predict(model, test_set, transform=transform).argmax(axis=1)
    wrong = np.flatnonzero(pred != targets)[:limit]
    classes = getattr(getattr(test_set, "dataset", test_set), "classes", None) or [str(c) for c in range(10)]
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
    from bprop.viz import VizRecorder
    from bprop.viz.report import write_report

    checkpoint = run_dir / "last.npz"
    if not checkpoint.exists():
        raise CLIError(f"{run_dir} has no last.npz: give the folder of a run written with --out or --report")
    state = load_checkpoint(checkpoint, restore_rng=False)
    config = state["config"]
    model = build_model(config)
    model.load_state_dict(state["model"])
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    recorder = VizRecorder.load(run_dir / "viz.npz") if (run_dir / "viz.npz").exists() else VizRecorder()
    if not recorder.weights:
        recorder.weights = {n: p.data for n, p in model.named_parameters() if p.ndim >= 2}
    examples = bp.load(run_dir / "examples.npz") if (run_dir / "examples.npz").exists() else None
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
        )
    except ImportError as err:
        raise CLIError(str(err)) from None


def cmd_report(args: argparse.Namespace) -> int:
    print(f"wrote {build_run_report(Path(args.run_dir))}")
    return 0


def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="the folder of a finished run (bprop train --out DIR or --report DIR)")


def cmd_explain(args: argparse.Namespace) -> int:
    from bprop.viz import build_network, explain, explain_conv

    if args.conv:
        result: Any = explain_conv(
            (args.size, args.size),
            (args.kernel, args.kernel),
            (args.stride, args.stride),
            (args.padding, args.padding),
            seed=args.seed,
        )
    else:
        if args.sizes is None and args.activation == "sigmoid" and args.loss == "mse":
            model = x = y = None  # the classic 2-2-2 teaching example
        else:
            sizes = [int(n) for n in (args.sizes or "2,2,2").split(",")]
            if len(sizes) < 2 or min(sizes) < 1:
                raise CLIError(f"--sizes needs at least two positive layer sizes, got {args.sizes!r}")
            model = build_network(sizes, args.activation, seed=args.seed)
            rng = np.random.default_rng(args.seed)
            x = rng.uniform(-1, 1, sizes[0])
            y = (
                np.eye(sizes[-1])[rng.integers(sizes[-1])]
                if args.loss == "cross_entropy"
                else rng.uniform(0, 1, sizes[-1])
            )
        result = explain(model, x, y, loss=args.loss, lr=args.lr)
    text = {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[args.format]()
    if args.out:
        atomic_write_bytes(args.out, text.encode("utf-8"))
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def add_explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", help="layer sizes, e.g. 3,4,2 (default: the 2-2-2 teaching network)")
    p.add_argument("--activation", choices=("sigmoid", "tanh", "relu", "identity"), default="sigmoid")
    p.add_argument("--loss", choices=("mse", "cross_entropy"), default="mse")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate of the gradient-descent step (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and sample")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    p.add_argument("--out", help="write to this file instead of the terminal")
    p.add_argument("--conv", action="store_true", help="a single-channel convolution instead of a dense network")
    p.add_argument("--size", type=int, default=5, help="--conv: input height and width (default 5)")
    p.add_argument("--kernel", type=int, default=3, help="--conv: kernel size (default 3)")
    p.add_argument("--stride", type=int, default=2, help="--conv: stride (default 2)")
    p.add_argument("--padding", type=int, default=1, help="--conv: padding (default 1)")


# ----- eval --------------------------------------------------------------------------------
def load_trained_model(path: str) -> tuple[nn.Module, dict[str, Any]]:
    """The model saved in a checkpoint written by `bprop train`, and its training configuration."""
    if not Path(path).is_file():
        raise CLIError(f"no checkpoint at {path}")
    try:
        state = load_checkpoint(path, restore_rng=False)
    except ValueError as err:
        raise CLIError(str(err)) from None
    config = state["config"]
    if "model" not in config:
        raise CLIError(f"{path} has no model configuration (was it written by `bprop train --out`?)")
    model = build_model(config)
    model.load_state_dict(state["model"])
    return model, config


def cmd_eval(args: argparse.Namespace) -> int:
    model, config = load_trained_model(args.checkpoint)
    data = args.data or config["data"]
    _, test_set = load_data(data, args.data_dir or config["data_dir"], args.download)
    shape = sample_shape(test_set)[0]
    if shape != tuple(config["input_shape"]):
        raise CLIError(
            f"{args.checkpoint} takes inputs of shape {tuple(config['input_shape'])}, but {data} has {shape}"
        )
    _, eval_tf = batch_transforms(data_kind(data), augment=False)
    results = evaluate(model, test_set, transform=eval_tf)
    print(
        f"{data} test accuracy {results['accuracy']:.2%}  loss {results['loss']:.4f}  "
        f"top-5 {results['top5_accuracy']:.2%}  ({len(test_set)} samples)"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    print(np.array2string(results["confusion_matrix"], max_line_width=200))
    names = class_names(test_set) or [str(c) for c in range(len(results["f1"]))]
    width = max(len(n) for n in [*names, "class"])
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, p, r, f, n in zip(names, results["precision"], results["recall"], results["f1"], results["support"]):
        print(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")
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
    from bprop.export import to_onnx

    model, config = load_trained_model(args.checkpoint)
    example = np.zeros((1, *config["input_shape"]), dtype=np.float32)
    try:
        path = to_onnx(model, example, args.onnx, opset=args.opset)
    except ImportError as err:
        raise CLIError(str(err)) from None
    print(
        f"wrote {path} ({config['model']}, input (batch, {', '.join(map(str, config['input_shape']))}), "
        f"opset {args.opset})"
    )
    return 0


def add_export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument("--onnx", required=True, metavar="FILE", help="where to write the ONNX model")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {
    "train": (add_train_args, cmd_train, "train a model (default: the notes' fully connected net on digits)"),
    "eval": (add_eval_args, cmd_eval, "evaluate a checkpoint: accuracy, confusion matrix, per-class scores"),
    "export": (add_export_args, cmd_export, "export a checkpoint's model to ONNX"),
    "explain": (add_explain_args, cmd_explain, "backprop through a small network with every number shown"),
    "report": (add_report_args, cmd_report, "rebuild report.html of a finished run"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bprop", description="bprop: deep learning on NumPy with hand-derived backprop.")
    parser.add_argument("--version", action="version", version=f"bprop {bp.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (add_args, _, help_text) in SUBCOMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if (
            getattr(args, "workers", 1) > 1
            and "OMPI_COMM_WORLD_SIZE" not in os.environ
            and "PMI_SIZE" not in os.environ
        ):  # not yet under a launcher: become one
            command = dist.launch_command(args.workers, ["-m", "bprop.cli", *_without_workers(argv)])
            return subprocess.call(command, env=dist.worker_env())
        if getattr(args, "config", None):  # file values become defaults, explicit flags win
            sub = parser._subparsers._group_actions[0].choices[args.command]  # type: ignore[union-attr]
            sub.set_defaults(**load_config_file(args.config, sub))
            args = parser.parse_args(argv)
        return SUBCOMMANDS[args.command][1](args)
    except (CLIError, DatasetError, RuntimeError) as err:
        print(f"bprop {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
