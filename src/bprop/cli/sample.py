"""`bprop sample`: continue a text with a trained character-level language model."""

from __future__ import annotations

import argparse

from bprop.train.sampling import MAX_LENGTH, sample_text


def cmd_sample(args: argparse.Namespace) -> int:
    print(sample_text(args.checkpoint, args.prompt, args.length, args.temperature, args.seed))
    return 0


def add_sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint of a language model (`bprop train --data text:PATH --out`)")
    p.add_argument("--prompt", required=True, help="the text to continue (characters the model has seen)")
    p.add_argument("--length", type=int, default=100, help=f"characters to add, 0 to {MAX_LENGTH} (default: 100)")
    p.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="softmax temperature: lower is safer, higher wilder (default: 0.8)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default: 0)")
