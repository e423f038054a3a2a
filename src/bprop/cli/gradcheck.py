"""`bprop gradcheck`: check every op of a trained model's graph and name a wrong backward.

The checks and the work are ``bprop.viz.cases.gradcheck_checkpoint``'s: this parses and prints."""

from __future__ import annotations

import argparse

from bprop.cli.common import count


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from bprop.viz.cases import gradcheck_checkpoint

    report, config, samples = gradcheck_checkpoint(args.checkpoint, args.samples, args.entries, args.seed)
    print(f"{args.checkpoint}: {config.model} on {count(samples, 'test sample')} of {config.data}, float64")
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
