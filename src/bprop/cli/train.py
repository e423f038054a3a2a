"""`bprop train`: arguments → ``RunConfig`` → ``bprop.train.run`` → one line of results.

Its flags, their help and ranges, and the TOML keys of ``--config`` are generated from
RunConfig's fields (add an option there, not here)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from bprop import distributed as dist
from bprop.data.registry import DATASETS
from bprop.train.run import bits_per_token, read_checkpoint, resume_checkpoint, run
from bprop.train.run_config import RunConfig, check_workers, describe_range, flag, options, toml_values

TRAIN_EXAMPLES = """examples:
  bprop train                                   # fcnet on the embedded digits, a few seconds
  bprop train --data mnist --data-dir DIR --download --out runs/mlp
  bprop train --data fashion-mnist --data-dir DIR --model lenet5 --epochs 5
  bprop train --out runs/mlp --resume           # carry on exactly from runs/mlp/last.npz, with its options
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
        help="continue a run from its checkpoint (default: OUT/last.npz) with its options; only "
        + ", ".join(flag(f.name) for f in options() if f.metadata["resumable"]) + " may change",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file of option values (flags win)")
    p.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="data-parallel processes on this machine, at most one per core, run by mpirun; needs MPI (default: 1)",
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
    text = meta["help"] + (f", {describe_range(f.name)}" if meta["kind"] in ("int", "float", "threads") else "")
    types = {"int": int, "float": float, "str": str, "sizes": str, "threads": str}
    metavar = meta["metavar"] or f.name.split("_")[-1].upper()
    metavar = "{" + ",".join(meta["choices"]()) + "}" if meta["choices"] else metavar
    p.add_argument(
        name, type=types[meta["kind"]], default=argparse.SUPPRESS, metavar=metavar, help=f"{text} (default: {default})"
    )


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig options the user gave: --config file values, overridden by flags."""
    given = toml_values(args.config) if args.config is not None else {}
    fields = {f.name for f in options()}
    given.update({k: v for k, v in vars(args).items() if k in fields})
    return given


def train_config(args: argparse.Namespace) -> tuple[RunConfig, Path | None]:
    """(the run's configuration, the checkpoint to resume or None), checked."""
    given = given_options(args)
    check_workers(args.workers)
    if args.resume is None:
        return RunConfig(**given), None
    checkpoint = resume_checkpoint(args.resume, given.get("out") or given.get("report"))
    assert checkpoint is not None  # args.resume is "" or a path
    return read_checkpoint(checkpoint)[1].resumed_with(given), checkpoint


def cmd_train(args: argparse.Namespace) -> int:
    config, checkpoint = train_config(args)
    result = run(config, resume=checkpoint or False, overwrite=args.overwrite)
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
    if result.report is not None:
        print(f"report: {result.report}")
    return 0
