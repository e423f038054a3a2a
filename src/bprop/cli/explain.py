"""`bprop explain`: backprop through a small network with every number shown.

The options and the work are ``bprop.viz.explain_options``'s: this parses and prints."""

from __future__ import annotations

import argparse
import dataclasses

from bprop.viz.explain_options import CHOICES, ExplainOptions, run_explain


def cmd_explain(args: argparse.Namespace) -> int:
    names = [f.name for f in dataclasses.fields(ExplainOptions)]
    print(run_explain(ExplainOptions(**{name: getattr(args, name) for name in names})))
    return 0


def add_explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", help="layer sizes, e.g. 3,4,2 (default: the 2-2-2 teaching network)")
    p.add_argument("--activation", choices=CHOICES["activation"], help="--sizes: activation (default: sigmoid)")
    p.add_argument("--loss", choices=CHOICES["loss"], help="--sizes: loss (default: mse)")
    p.add_argument("--model", choices=CHOICES["model"], help="one of bprop's models on a batch of digits")
    p.add_argument("--batchnorm", action="store_true", help="--model fcnet: batch norm after the hidden layer")
    p.add_argument(
        "--dropout", type=float, metavar="P", help="--model fcnet: dropout probability after the hidden layer"
    )
    p.add_argument("--batch", type=int, metavar="N", help="--model: samples in the batch, 1 to 64 (default: 4)")
    p.add_argument("--checkpoint", metavar="FILE", help="explain a trained model (RUN/best.npz) on its own test data")
    p.add_argument("--samples", type=int, metavar="N", help="--checkpoint: test samples in the batch (default: 4)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate of the gradient-descent step (default: 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and sample (default: 0)")
    p.add_argument(
        "--format",
        choices=CHOICES["format"],
        default="text",
        help="text for the terminal, markdown, or html (a page; with --out, the step-through viewer beside it) "
        "(default: text)",
    )
    p.add_argument(
        "--lang", choices=CHOICES["lang"], default="en", help="language of the words, en or zh (Chinese) (default: en)"
    )
    p.add_argument("--out", help="write to this file instead of the terminal (html: with the viewer beside it)")
    p.add_argument("--conv", action="store_true", help="a single-channel convolution instead of a dense network")
    p.add_argument("--size", type=int, help="--conv: input height and width, 1 to 32 (default: 5)")
    p.add_argument("--kernel", type=int, help="--conv: kernel size, 1 to 32 (default: 3)")
    p.add_argument("--stride", type=int, help="--conv: stride, 1 to 32 (default: 2)")
    p.add_argument("--padding", type=int, help="--conv: padding, 0 to 32 (default: 1)")
    p.add_argument(
        "--rnn", choices=CHOICES["rnn"], help="backprop through time in a small RNN or LSTM instead, δ step by step"
    )
    p.add_argument("--steps", type=int, help="--rnn: time steps, 1 to 100 (default: 10)")
