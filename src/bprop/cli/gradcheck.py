"""`bprop gradcheck`: check every op of a trained model's graph and name a wrong backward."""

from __future__ import annotations

import argparse

import bprop as bp
from bprop import nn
from bprop.cli.common import count
from bprop.train.run import (
    RunError,
    checkpoint_file,
)
from bprop.train.run_config import check_option


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
    print(f"{args.checkpoint}: {config.model} on {count(len(y), 'test sample')} of {config.data}, float64")
    print(report.table())
    return 0 if report.ok else 1


def add_gradcheck_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument(
        "--samples", type=int, default=8, metavar="N", help="test samples in the batch, 1 to 64 (default: 8)"
    )
    p.add_argument("--entries", type=int, default=16, metavar="K", help="finite differences per input (default: 16)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the upstream gradients and of the entries checked (default: 0)"
    )
