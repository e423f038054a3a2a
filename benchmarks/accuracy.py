"""Accuracy on real data with the `bprop train` CLI, and seconds per epoch beside torch's for the
same model and loop, measured in the same run.

    python benchmarks/accuracy.py                      # every run whose data is in ../shared/data
    python benchmarks/accuracy.py --only digits-fcnet  # seconds; the MNIST runs take minutes each

Targets (issue 4): digits FullyConnectedNet ≥ 97% test; MNIST MLP ≥ 98.0% within 10 epochs;
MNIST LeNet5 / ThreeLayerConvNet ≥ 99.0%; Fashion-MNIST CNN ≥ 90%. Issue 16: sequential MNIST
(rows as 28 steps) LSTM ≥ 98% in 10 epochs; the tang300 character-level language models report
held-out bits per character and a sample; the adding problem at length 50 (plain RNN at chance,
LSTM learns) reports test MSE against chance. Runs whose data is missing
from --data-dir are skipped. Torch's time is the median epoch of the same architecture (built
layer by layer from the bprop model) trained with the same batches, batch transform, Adam and
number of threads, over up to --torch-epochs epochs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bprop import cli, nn
from bprop.cli.train import train_config
from bprop.data import DataLoader
from bprop.data.datasets import DatasetError
from bprop.data.datasets.text import read_text
from bprop.data.registry import dataset_spec, load_dataset
from bprop.train import RunConfig
from bprop.train.run import make_model

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # name: (CLI flags, target test accuracy)
    "digits-fcnet": (["--data", "digits"], 0.97),
    "mnist-mlp": (["--data", "mnist", "--model", "mlp", "--epochs", "10"], 0.98),
    "mnist-lenet5": (["--data", "mnist", "--model", "lenet5", "--epochs", "10"], 0.99),
    "mnist-convnet": (["--data", "mnist", "--model", "convnet", "--epochs", "10"], 0.99),
    "fashion-convnet": (["--data", "fashion-mnist", "--model", "convnet", "--epochs", "10"], 0.90),
    "mnist-lstm": (["--data", "mnist", "--model", "lstm", "--epochs", "10", "--threads", "1"], 0.98),
}
TANG300 = "tang300/tang300"
LANGUAGE_RUNS = {  # name: CLI flags after --data text:PATH; reported in bits per character
    "tang300-char-lstm": ["--model", "char-lstm", "--epochs", "20"],
    "tang300-char-transformer": ["--model", "char-transformer", "--epochs", "20"],
}
EXPERIMENTS = ["adding-50"]


def torch_twin(model: nn.Module):
    """The same architecture in torch, layer by layer."""
    import torch

    table = {
        nn.Linear: lambda m: torch.nn.Linear(m.in_features, m.out_features),
        nn.Conv2d: lambda m: torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding),
        nn.ReLU: lambda m: torch.nn.ReLU(),
        nn.MaxPool2d: lambda m: torch.nn.MaxPool2d(m.kernel_size, m.stride),
        nn.AvgPool2d: lambda m: torch.nn.AvgPool2d(m.kernel_size, m.stride),
        nn.BatchNorm1d: lambda m: torch.nn.BatchNorm1d(m.num_features),
        nn.BatchNorm2d: lambda m: torch.nn.BatchNorm2d(m.num_features),
        nn.Tanh: lambda m: torch.nn.Tanh(),
        nn.Dropout: lambda m: torch.nn.Dropout(m.p),
        nn.Flatten: lambda m: torch.nn.Flatten(),
    }
    leaves = [m for m in model.modules() if not list(m.children())]
    missing = {type(m).__name__ for m in leaves if type(m) not in table}
    if missing:
        raise NotImplementedError(f"no torch twin for {', '.join(sorted(missing))}")
    return torch.nn.Sequential(
        torch.nn.Flatten() if not isinstance(leaves[0], (nn.Conv2d, nn.Flatten)) else torch.nn.Identity(),
        *[table[type(m)](m) for m in leaves],
    )


def config_for(flags: list[str], data_dir: str) -> RunConfig:
    return train_config(cli.make_parser().parse_args(["train", *flags, "--data-dir", data_dir]))[0]


def torch_epoch_seconds(config: RunConfig, epochs: int) -> float:
    """Median seconds per epoch of the torch twin, trained as `bprop train` trains."""
    import torch

    train_set, _ = load_dataset(config.data, config.data_dir, False)
    spec = dataset_spec(config.data)
    twin = torch_twin(make_model(config, spec.input_shape, spec.num_classes))
    transform, _ = spec.transforms(augment=False)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, transform=transform)
    opt = torch.optim.Adam(twin.parameters(), lr=config.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads or spec.threads or threads)
    times = []
    try:
        for _ in range(epochs):
            start = time.perf_counter()
            for x, y in loader:
                opt.zero_grad()
                loss_fn(twin(torch.from_numpy(x.numpy())), torch.from_numpy(y.numpy())).backward()
                opt.step()
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(times)


def run(name: str, data_dir: str, torch_epochs: int) -> None:
    flags, target = RUNS[name]
    config = config_for(flags, data_dir)
    try:
        load_dataset(config.data, data_dir, False)
    except DatasetError as err:
        print(f"{name:<16} skipped: {err}", flush=True)
        return
    with tempfile.TemporaryDirectory() as out:
        code = cli.main(["train", *flags, "--data-dir", data_dir, "--out", out, "--quiet"])
        if code:
            print(f"{name:<16} FAILED (exit code {code}, message above)", flush=True)
            return
        metrics = json.loads((Path(out) / "metrics.json").read_text())
        accuracy, epochs = metrics["test_accuracy"], int(metrics["epochs"])
        with open(Path(out) / "history.csv") as handle:
            ours = statistics.median(float(row["seconds"]) for row in csv.DictReader(handle))
    try:
        theirs = torch_epoch_seconds(config, min(torch_epochs, epochs))
        timing = f"torch {theirs:7.2f} s/epoch  bprop/torch {ours / theirs:5.2f}"
    except ImportError:
        timing = "torch not installed"
    except NotImplementedError as err:
        timing = f"torch: {err}"
    verdict = "ok" if accuracy >= target else "BELOW TARGET"
    print(
        f"{name:<16} test accuracy {accuracy:7.2%} (target {target:.0%}, {verdict}) after {epochs} epochs   "
        f"bprop {ours:7.2f} s/epoch  {timing}",
        flush=True,
    )


def language_run(name: str, data_dir: str) -> None:
    path = Path(data_dir) / TANG300
    if not path.is_file():
        print(f"{name:<16} skipped: no {path}", flush=True)
        return
    with tempfile.TemporaryDirectory() as out:
        code = cli.main(["train", "--data", f"text:{path}", *LANGUAGE_RUNS[name], "--out", out, "--quiet"])
        if code:
            print(f"{name:<16} FAILED (exit code {code}, message above)", flush=True)
            return
        metrics = json.loads((Path(out) / "metrics.json").read_text())
        with open(Path(out) / "history.csv") as handle:
            seconds = statistics.median(float(row["seconds"]) for row in csv.DictReader(handle))
        uniform = math.log2(len(set(read_text(path))))  # bits of a guess among all the characters
        print(
            f"{name:<16} held-out {metrics['test_bits_per_char']:.3f} bits per character (uniform: {uniform:.1f}) "
            f"after {metrics['epochs']} epochs, bprop {seconds:.1f} s/epoch; a sample at temperature 0.8:",
            flush=True,
        )
        cli.main(["sample", str(Path(out) / "best.npz"), "--prompt", "《春", "--length", "120"])


def adding_experiment(length: int = 50, steps: int = 2000) -> None:
    """The adding problem: a 64-unit RNN and LSTM, Adam 1e-3, batch 64, gradients clipped to 1."""
    import numpy as np

    import bprop as bp
    from bprop import optim
    from bprop.data.datasets.adding import CHANCE_MSE, adding_problem

    for mode in ("RNN", "LSTM"):
        bp.manual_seed(0)
        rng = np.random.default_rng(0)
        rnn, head = getattr(nn, mode)(2, 64, batch_first=True), nn.Linear(64, 1)
        params = [*rnn.parameters(), *head.parameters()]
        opt = optim.Adam(params, lr=1e-3)

        def predict(x, rnn=rnn, head=head):
            out, _ = rnn(bp.tensor(x))
            return head(out[:, -1]).reshape(-1)

        start = time.perf_counter()
        for _ in range(steps):
            x, y = adding_problem(64, length, rng)
            opt.zero_grad()
            ((predict(x) - bp.tensor(y)) ** 2).mean().backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        x, y = adding_problem(1000, length, np.random.default_rng(1))
        with bp.no_grad():
            mse = float(((np.asarray(predict(x)) - y) ** 2).mean())
        verdict = "learns" if mse < 0.3 * CHANCE_MSE else "at chance" if mse > 0.9 * CHANCE_MSE else "partly"
        print(
            f"adding-{length} {mode:<5} test MSE {mse:.4f} (chance {CHANCE_MSE:.4f}: {verdict}) after {steps} steps, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / ".." / "shared" / "data"))
    everything = [*RUNS, *LANGUAGE_RUNS, *EXPERIMENTS]
    parser.add_argument(
        "--only", default=",".join(everything), help="comma-separated subset of " + ", ".join(everything)
    )
    parser.add_argument("--torch-epochs", type=int, default=3, help="epochs of the torch twin to time (default 3)")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(everything)
    if unknown:
        parser.error(f"unknown runs {', '.join(sorted(unknown))}; choose from {', '.join(everything)}")
    for name in args.only.split(","):
        if name in LANGUAGE_RUNS:
            language_run(name, args.data_dir)
        elif name == "adding-50":
            adding_experiment(50)
        else:
            run(name, args.data_dir, args.torch_epochs)


if __name__ == "__main__":
    sys.exit(main())
