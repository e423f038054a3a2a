"""`bprop explain`: backprop through a small network with every number shown."""

from __future__ import annotations

import argparse
import copy
import itertools
from pathlib import Path
from typing import Any

import numpy as np

import bprop as bp
from bprop import nn
from bprop.cli.common import check_writable_file
from bprop.data.registry import dataset_spec
from bprop.serialization import atomic_write_bytes
from bprop.train.run import (
    RunError,
    model_from_checkpoint,
)
from bprop.train.run_config import check_option

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
    sizes = _layer_sizes("2,2,2" if args.sizes is None else args.sizes)
    # with a cross-entropy the last layer's activation is its softmax (note 000), not σ before it
    model = build_network(sizes, args.activation, seed=args.seed, output_activation=args.loss != "cross_entropy")
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
        "--sizes": args.sizes is not None,
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
        check_writable_file(args.out, "--out")
    viewer = None
    if args.rnn:
        from bprop.viz.explain_rnn import explain_rnn

        result: Any = explain_rnn(args.rnn, _positive("steps", args.steps, high=100), seed=args.seed)
        text = {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[args.format](args.lang)
    elif args.conv:
        size, kernel = _positive("size", args.size), _positive("kernel", args.kernel)
        stride, padding = _positive("stride", args.stride), _positive("padding", args.padding, low=0)
        if kernel > size + 2 * padding:
            raise RunError(
                f"--kernel {kernel} does not fit the padded input of {size + 2 * padding}×{size + 2 * padding}"
            )
        result = explain_conv((size, size), (kernel, kernel), (stride, stride), (padding, padding), seed=args.seed)
        text = {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[args.format](args.lang)
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
        "--activation", choices=("sigmoid", "tanh", "relu", "identity"), help="--sizes: activation (default: sigmoid)"
    )
    p.add_argument("--loss", choices=("mse", "cross_entropy"), help="--sizes: loss (default: mse)")
    p.add_argument("--model", choices=("fcnet", "convnet", "lenet5"), help="one of bprop's models on a batch of digits")
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
        choices=("text", "markdown", "html"),
        default="text",
        help="text for the terminal, markdown, or html (a page; with --out, the step-through viewer beside it) "
        "(default: text)",
    )
    p.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="language of the words, en or zh (Chinese) (default: en)"
    )
    p.add_argument("--out", help="write to this file instead of the terminal (html: with the viewer beside it)")
    p.add_argument("--conv", action="store_true", help="a single-channel convolution instead of a dense network")
    p.add_argument("--size", type=int, help="--conv: input height and width, 1 to 32 (default: 5)")
    p.add_argument("--kernel", type=int, help="--conv: kernel size, 1 to 32 (default: 3)")
    p.add_argument("--stride", type=int, help="--conv: stride, 1 to 32 (default: 2)")
    p.add_argument("--padding", type=int, help="--conv: padding, 0 to 32 (default: 1)")
    p.add_argument(
        "--rnn", choices=("rnn", "lstm"), help="backprop through time in a small RNN or LSTM instead, δ step by step"
    )
    p.add_argument("--steps", type=int, help="--rnn: time steps, 1 to 100 (default: 10)")
