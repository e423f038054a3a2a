"""bprop.sklearn.MLPClassifier against scikit-learn's MLPClassifier: same architecture, solver
(Adam), batch size, learning rate and number of epochs; test accuracy and fit time side by side.

    python benchmarks/sklearn_mlp.py [--data-dir ../shared/data]

Runs on the embedded digits, and on MNIST when its files are in --data-dir (skipped if not).
Target (issue 6): accuracy equal or better, fit time at most half of scikit-learn's.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

from bprop.data.datasets import MNIST, DatasetError, load_digits
from bprop.sklearn import MLPClassifier

ROOT = Path(__file__).resolve().parents[1]


def digits():
    d = load_digits()
    x = d.data.reshape(len(d.data), -1).astype(np.float64)
    return train_test_split(x, d.targets, test_size=0.2, random_state=0, stratify=d.targets)


def mnist(data_dir: str):
    train, test = MNIST(data_dir), MNIST(data_dir, train=False)
    flat = lambda a: a.reshape(len(a), -1).astype(np.float64) / 255.0  # noqa: E731
    return flat(train.data), flat(test.data), train.targets, test.targets


def fit_and_score(cls, params: dict, split) -> tuple[float, float]:
    x_train, x_test, y_train, y_test = split
    model = cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - start
    assert model.n_iter_ == params["max_iter"]
    return model.score(x_test, y_test), seconds


def compare(name: str, split, hidden: tuple[int, ...], epochs: int, seeds: int) -> None:
    """Mean test accuracy and fit time over ``seeds`` random states (one run has seed noise)."""
    ours, theirs = [], []
    for seed in range(seeds):
        params = dict(hidden_layer_sizes=hidden, max_iter=epochs, batch_size=200, learning_rate_init=1e-3,
                      random_state=seed, n_iter_no_change=epochs + 1, tol=0.0)
        ours.append(fit_and_score(MLPClassifier, params, split))
        theirs.append(fit_and_score(SkMLP, {**params, "solver": "adam"}, split))
    acc, t = np.mean(ours, axis=0)
    sk_acc, sk_t = np.mean(theirs, axis=0)
    print(f"{name:<7} MLP {hidden}, {epochs} epochs of Adam, {seeds} seed(s): test accuracy bprop {acc:.2%} / "
          f"scikit-learn {sk_acc:.2%}   fit time bprop {t:6.2f} s / scikit-learn {sk_t:6.2f} s  ratio {t / sk_t:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / ".." / "shared" / "data"))
    args = parser.parse_args()
    compare("digits", digits(), (256, 128), 100, seeds=5)
    try:
        split = mnist(args.data_dir)
    except DatasetError as err:
        print(f"mnist   skipped: {err}")
        return
    compare("mnist", split, (256, 128), 15, seeds=1)


if __name__ == "__main__":
    main()
