"""`bprop eval`: a checkpoint's accuracy, confusion matrix and per-class scores on test data.

The checks and the work are ``bprop.train.checkpoint_eval``'s: this parses and prints."""

from __future__ import annotations

import argparse

import numpy as np

from bprop.cli.common import count
from bprop.train.checkpoint_eval import CheckpointEvaluation, evaluate_checkpoint
from bprop.train.run import bits_per_token, class_names


def cmd_eval(args: argparse.Namespace) -> int:
    evaluation = evaluate_checkpoint(args.checkpoint, args.data, args.data_dir, args.download)
    if evaluation.language_model:
        _print_language_model(evaluation)
    else:
        _print_classifier(evaluation)
    return 0


def _print_classifier(evaluation: CheckpointEvaluation) -> None:
    results, test_set = evaluation.results, evaluation.test_set
    print(
        f"{evaluation.data} test accuracy {results['accuracy']:.2%}  loss {results['loss']:.4f}  "
        f"top-5 {results['top5_accuracy']:.2%}  ({count(len(test_set), 'sample')})"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    print(np.array2string(results["confusion_matrix"], max_line_width=200))
    names = class_names(test_set) or [str(c) for c in range(len(results["f1"]))]
    width = max(len(n) for n in [*names, "class"])
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, p, r, f, n in zip(names, results["precision"], results["recall"], results["f1"], results["support"]):
        print(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {n:7d}")


def _print_language_model(evaluation: CheckpointEvaluation) -> None:
    """Held-out loss in bits per character."""
    loss = evaluation.results["loss"]
    print(
        f"{evaluation.data} held-out {bits_per_token(loss):.3f} bits per character  loss {loss:.4f}  "
        f"({count(len(evaluation.test_set), 'window')})"
    )


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument(
        "--data",
        help="data set to evaluate on: digits, mnist, fashion-mnist, cifar10, PATH.npz or text:PATH (a "
        "language model's text) (default: the one it was trained on)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder with the data files (default: the training run's)")
    p.add_argument("--download", action="store_true", help="fetch missing data files")
