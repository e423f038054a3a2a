"""Accuracy on real data with the `bprop train` CLI, and seconds per epoch beside torch's for the
same model and loop, measured in the same run.

    python benchmarks/accuracy.py [--data-dir ../shared/data] [--only digits,mnist-mlp,...]

Targets (issue 4): digits FullyConnectedNet ≥ 97% test; MNIST MLP ≥ 98.0% within 10 epochs;
MNIST LeNet5 ≥ 99.0%; Fashion-MNIST CNN ≥ 90%. Data sets missing from --data-dir are skipped.
Torch's time is one epoch of the same architecture (built layer by layer from the bprop model),
the same batch size, Adam and the same batch transform.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bprop import cli, nn
from bprop.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # name: (CLI flags, target test accuracy)
    "digits-fcnet": (["--data", "digits"], 0.97),
    "mnist-mlp": (["--data", "mnist", "--model", "mlp", "--epochs", "10"], 0.98),
    "mnist-lenet5": (["--data", "mnist", "--model", "lenet5", "--epochs", "10"], 0.99),
    "fashion-convnet": (["--data", "fashion-mnist", "--model", "convnet", "--epochs", "10"], 0.90),
}


def torch_twin(model: nn.Module):
    """The same architecture in torch, layer by layer."""
    import torch

    table = {nn.Linear: lambda m: torch.nn.Linear(m.in_features, m.out_features),
             nn.Conv2d: lambda m: torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding),
             nn.ReLU: lambda m: torch.nn.ReLU(), nn.MaxPool2d: lambda m: torch.nn.MaxPool2d(m.kernel_size, m.stride),
             nn.BatchNorm1d: lambda m: torch.nn.BatchNorm1d(m.num_features),
             nn.Dropout: lambda m: torch.nn.Dropout(m.p), nn.Flatten: lambda m: torch.nn.Flatten()}
    leaves = [m for m in model.modules() if not list(m.children())]
    return torch.nn.Sequential(torch.nn.Flatten() if not isinstance(leaves[0], (nn.Conv2d, nn.Flatten)) else
                               torch.nn.Identity(), *[table[type(m)](m) for m in leaves])


def torch_epoch_seconds(flags: list[str], data_dir: str) -> float:
    import torch

    args = cli.make_parser().parse_args(["train", *flags, "--data-dir", data_dir])
    config = cli.train_config(args)
    train_set, _ = cli.load_data(config["data"], data_dir, False)
    config["input_shape"], config["num_classes"] = cli.sample_shape(train_set)
    twin = torch_twin(cli.build_model(config))
    transform, _ = cli.batch_transforms(cli.data_kind(config["data"]), False)
    loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True, transform=transform)
    opt = torch.optim.Adam(twin.parameters(), lr=config["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for x, y in loader:
        opt.zero_grad()
        loss_fn(twin(torch.from_numpy(x.numpy())), torch.from_numpy(y.numpy())).backward()
        opt.step()
    return time.perf_counter() - start


def run(name: str, data_dir: str) -> None:
    flags, target = RUNS[name]
    with tempfile.TemporaryDirectory() as out:
        code = cli.main(["train", *flags, "--data-dir", data_dir, "--out", out, "--quiet"])
        if code:
            print(f"{name:<16} skipped (data not found in {data_dir})")
            return
        accuracy = json.loads((Path(out) / "metrics.json").read_text())["test_accuracy"]
        rows = list(csv.DictReader(open(Path(out) / "history.csv")))
    ours = float(np.mean([float(r["seconds"]) for r in rows]))
    try:
        theirs = torch_epoch_seconds(flags, data_dir)
        timing = f"torch {theirs:7.2f} s/epoch  ratio {ours / theirs:5.2f}"
    except ImportError:
        timing = "torch not installed"
    verdict = "ok" if accuracy >= target else "BELOW TARGET"
    print(f"{name:<16} test accuracy {accuracy:7.2%} (target {target:.0%}, {verdict}) after {len(rows)} epochs   "
          f"bprop {ours:7.2f} s/epoch  {timing}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / ".." / "shared" / "data"))
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated subset of " + ", ".join(RUNS))
    args = parser.parse_args()
    for name in args.only.split(","):
        run(name, args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
