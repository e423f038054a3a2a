"""bprop.sklearn.MLPClassifier against scikit-learn's MLPClassifier: same architecture, solver
(Adam), batch size, learning rate and number of epochs; test accuracy and fit time side by side.

    python benchmarks/sklearn_mlp.py [--data-dir ../shared/data] [--seeds 5] [--mnist-seeds 5]

Runs on the embedded digits, and on MNIST when its files are in --data-dir (skipped if not).
Accuracy and time are means over random states (one run's accuracy moves by ±0.2 points with
the seed), with the spread over seeds; each estimator first fits once untimed, so that neither
pays the first-call costs (imports, BLAS threads) inside the timing. The paired lines start
bprop from scikit-learn's initial weights and batch order of the same run (sklearn_pairing.py),
which takes the seed noise out of the accuracy comparison: in float64 the two take the same
steps, in float32 they part by rounding.
Target (issue 6): accuracy equal or better, fit time at most half of scikit-learn's.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from bprop.data.datasets import MNIST, DatasetError, load_digits
from bprop.sklearn import MLPClassifier
from sklearn_pairing import fit_bprop_from, fit_scikit_learn_recording

ROOT = Path(__file__).resolve().parents[1]


def digits():
    d = load_digits()
    x = d.data.reshape(len(d.data), -1).astype(np.float64)
    return train_test_split(x, d.targets, test_size=0.2, random_state=0, stratify=d.targets)


def mnist(data_dir: str):
    train, test = MNIST(data_dir), MNIST(data_dir, train=False)
    flat = lambda a: a.reshape(len(a), -1).astype(np.float64) / 255.0  # noqa: E731
    return flat(train.data), flat(test.data), train.targets, test.targets


def timed(fit: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        result = fit(*args)
        return result, time.perf_counter() - start


def fit_ours(params: dict, x: np.ndarray, y: np.ndarray) -> MLPClassifier:
    return MLPClassifier(**params).fit(x, y)


def compare(name: str, split, hidden: tuple[int, ...], epochs: int, seeds: int) -> None:
    """Mean test accuracy and fit time over ``seeds`` random states, then the paired accuracy."""
    x_train, x_test, y_train, y_test = split
    ours, theirs, paired = [], [], {np.float32: [], np.float64: []}
    for seed in range(-1, seeds):  # seed -1: one untimed epoch each, the warm-up
        params = dict(
            hidden_layer_sizes=hidden,
            max_iter=epochs if seed >= 0 else 1,
            batch_size=200,
            learning_rate_init=1e-3,
            random_state=max(seed, 0),
            n_iter_no_change=epochs + 1,
            tol=0.0,
        )
        mine, mine_seconds = timed(fit_ours, params, x_train, y_train)
        (their, start), their_seconds = timed(fit_scikit_learn_recording, params, x_train, y_train)
        if seed < 0:
            continue
        assert mine.n_iter_ == their.n_iter_ == epochs
        ours.append((mine.score(x_test, y_test), mine_seconds))
        theirs.append((their.score(x_test, y_test), their_seconds))
        for dtype, results in paired.items():
            from_theirs, _ = timed(fit_bprop_from, start, {**params, "dtype": dtype}, x_train, y_train)
            results.append(from_theirs.score(x_test, y_test))
    (acc, t), (acc_sd, _) = np.mean(ours, axis=0), np.std(np.array(ours), axis=0)
    (sk_acc, sk_t), (sk_sd, _) = np.mean(theirs, axis=0), np.std(np.array(theirs), axis=0)
    print(
        f"{name:<7} MLP {hidden}, {epochs} epochs of Adam, {seeds} seed(s): test accuracy "
        f"bprop {acc:.2%} ± {acc_sd:.2%} / scikit-learn {sk_acc:.2%} ± {sk_sd:.2%}   "
        f"fit time bprop {t:6.2f} s / scikit-learn {sk_t:6.2f} s  ratio {t / sk_t:4.2f}"
    )
    ratios = np.array(ours)[:, 1] / np.array(theirs)[:, 1]  # each seed's pair ran back to back
    print(
        f"{name:<7} fit time ratio per seed: median {np.median(ratios):4.2f}, from {ratios.min():4.2f} "
        f"to {ratios.max():4.2f}"
    )
    for dtype, results in paired.items():
        gaps = np.array(results) - np.array(theirs)[:, 0]
        print(
            f"{name:<7} paired, bprop in {np.dtype(dtype).name} from scikit-learn's initial weights and batch "
            f"order: test accuracy bprop {np.mean(results):.2%} / scikit-learn {sk_acc:.2%}, per-seed gap "
            f"{gaps.mean():+.2%} (from {gaps.min():+.2%} to {gaps.max():+.2%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / ".." / "shared" / "data"))
    parser.add_argument("--seeds", type=int, default=5, help="random states on digits")
    parser.add_argument("--mnist-seeds", type=int, default=5, help="random states on MNIST")
    args = parser.parse_args()
    compare("digits", digits(), (256, 128), 100, seeds=args.seeds)
    try:
        split = mnist(args.data_dir)
    except DatasetError as err:
        print(f"mnist   skipped: {err}")
        return
    compare("mnist", split, (256, 128), 15, seeds=args.mnist_seeds)


if __name__ == "__main__":
    main()
