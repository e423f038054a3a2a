"""`bprop sample`: continue a text with a trained character-level language model."""

from __future__ import annotations

import argparse

import numpy as np

from bprop.data.datasets.text import encode
from bprop.nn.sequence_models import sample_tokens
from bprop.train.run import (
    RunError,
    model_from_checkpoint,
)
from bprop.train.run_config import check_option

MAX_SAMPLE_LENGTH = 10_000  # one forward pass a character: about a minute; a typo's 10¹⁴ would never end


def cmd_sample(args: argparse.Namespace) -> int:
    model, _, state = model_from_checkpoint(args.checkpoint)
    vocabulary = state["config"].get("vocabulary")
    if not vocabulary:
        raise RunError(f"{args.checkpoint} is not a language model (train one with --data text:PATH)")
    if not 0 <= args.length <= MAX_SAMPLE_LENGTH:
        raise RunError(f"--length must be an integer in [0, {MAX_SAMPLE_LENGTH}], got {args.length}")
    if not (np.isfinite(args.temperature) and args.temperature > 0):
        raise RunError(f"--temperature must be a finite number > 0, got {args.temperature}")
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
    p.add_argument(
        "--length", type=int, default=100, help=f"characters to add, 0 to {MAX_SAMPLE_LENGTH} (default: 100)"
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="softmax temperature: lower is safer, higher wilder (default: 0.8)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default: 0)")
