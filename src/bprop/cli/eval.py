"""`bprop eval`: a checkpoint's accuracy, confusion matrix and per-class scores on test data."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from bprop.cli.common import count
from bprop.data import Dataset
from bprop.data.registry import dataset_spec, load_dataset
from bprop.train import evaluate
from bprop.train.run import (
    RunError,
    bits_per_token,
    class_names,
    model_from_checkpoint,
)
from bprop.train.run_config import check_option


def cmd_eval(args: argparse.Namespace) -> int:
    model, config, state = model_from_checkpoint(args.checkpoint)
    for name in ("data", "data_dir"):  # the checks of train's --data and --data-dir
        if getattr(args, name) is not None:
            check_option(name, getattr(args, name))
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
        f"top-5 {results['top5_accuracy']:.2%}  ({count(len(test_set), 'sample')})"
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
        f"({count(len(test_set), 'window')})"
    )
    return 0


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument(
        "--data",
        help="data set to evaluate on: digits, mnist, fashion-mnist, cifar10, PATH.npz or text:PATH (a "
        "language model's text) (default: the one it was trained on)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder with the data files (default: the training run's)")
    p.add_argument("--download", action="store_true", help="fetch missing data files")
