"""Training-step time and peak memory of bprop against torch CPU for the networks people train
here, side by side in one run (issue 15), and a sweep over batch sizes that shows where a
regression happens.

    python benchmarks/speed.py             # the table: MLP, CNN on both shapes, LeNet-5
    python benchmarks/speed.py --sweep     # also batch 1, 16, 64, 256 for MLP and CNN (MNIST
                                           # shape), inference and training
    python benchmarks/speed.py --rounds 11 # more paired rounds per line (steadier ratios)
    python benchmarks/speed.py --only lenet5,cnn-mnist
    python benchmarks/speed.py --threads 1 # both frameworks on one thread (steadier on a busy machine)

Networks (float32, cross-entropy, SGD with momentum 0.9, the same data and initialisation
scheme in both frameworks, each framework with its default threads):
  mlp       784-512-256-10, ReLU
  cnn       conv3×3(C→32, pad 1)-ReLU-maxpool2-conv3×3(32→64, pad 1)-ReLU-maxpool2-fc128-ReLU-fc10,
            MNIST shape (1×28×28) and CIFAR shape (3×32×32)
  lenet5    the classic: conv5×5(1→6, pad 2)-tanh-avgpool2-conv5×5(6→16)-tanh-avgpool2-
            fc120-tanh-fc84-tanh-fc10 on 1×28×28

Each line is one harness.compare: a bprop and a torch child process stay alive and their timed
rounds alternate, so the ratio (the median of the per-round ratios bprop/torch) compares the
two under the same load. ms are the median round's time per step. Peak memory is each child's
resident-set growth from before its first step (harness.reset_peak_memory). On this 2-core
machine shared with other work, ratios still move by ±10% from run to run: read the medians
of a few runs. Targets (issue 15): CNN ≤ 1.0, LeNet-5 ≤ 1.5, MLP ≤ 1.0, peak memory ≤ torch's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

# name: (network, input shape (C, H, W) or (features,), batch)
TABLE = {
    "mlp-64": ("mlp", (784,), 64),
    "mlp-256": ("mlp", (784,), 256),
    "cnn-mnist": ("cnn", (1, 28, 28), 64),
    "cnn-cifar": ("cnn", (3, 32, 32), 128),
    "lenet5": ("lenet5", (1, 28, 28), 64),
}
SWEEP_BATCHES = (1, 16, 64, 256)
SWEEP_NETWORKS = {"mlp": (784,), "cnn": (1, 28, 28)}


def layers(nn, network: str, shape: tuple[int, ...]) -> list:
    """The network's layers; ``nn`` is bprop.nn or torch.nn, whose layer names agree."""
    if network == "mlp":
        return [nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)]
    if network == "cnn":
        c, h, w = shape
        return [
            nn.Conv2d(c, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (h // 4) * (w // 4), 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        ]
    if network == "lenet5":
        return [
            nn.Conv2d(shape[0], 6, 5, padding=2),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.Tanh(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, 10),
        ]
    raise ValueError(f"unknown network {network!r}; choose mlp, cnn or lenet5")


def data(shape: tuple[int, ...], batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, *shape)).astype(np.float32), rng.integers(0, 10, batch)


def make_step(framework: str, network: str, shape: tuple[int, ...], batch: int, mode: str):
    """A closure running one training step (mode "train") or one forward pass without a graph
    (mode "infer") of the network in bprop or torch."""
    if framework == "bprop":
        import bprop as lib
        from bprop import nn, optim
    else:
        import torch as lib
        from torch import nn, optim

        if "OMP_NUM_THREADS" in os.environ:  # --threads: the same thread count as bprop's BLAS
            lib.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    lib.manual_seed(0)
    x, y = data(shape, batch)
    x, y = (lib.tensor(x), lib.tensor(y)) if framework == "bprop" else (lib.from_numpy(x), lib.from_numpy(y))
    model = nn.Sequential(*layers(nn, network, shape))
    if mode == "train":
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return harness.training_step(model, nn.CrossEntropyLoss(), opt, x, y)
    model.eval()

    def infer() -> None:
        with lib.no_grad():
            model(x)

    return infer


def child(framework: str, network: str, shape: str, batch: str, mode: str) -> None:
    dims = tuple(int(d) for d in shape.split("x"))
    harness.serve(make_step(framework, network, dims, int(batch), mode))


def run(name: str, network: str, shape: tuple[int, ...], batch: int, mode: str, rounds: int) -> None:
    args = [network, "x".join(map(str, shape)), str(batch), mode]
    print(harness.report_pair(name, harness.compare(__file__, args, rounds)), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(TABLE), help="comma-separated subset of " + ", ".join(TABLE))
    parser.add_argument("--sweep", action="store_true", help="also batch sizes 1-256, inference and training")
    parser.add_argument("--rounds", type=int, default=7, help="paired timed rounds per line (default 7)")
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads of both frameworks (default: theirs)")
    args = parser.parse_args()
    if args.threads:  # inherited by the children; read when NumPy's BLAS and torch start
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    unknown = set(args.only.split(",")) - set(TABLE) - {""}
    if unknown:
        parser.error(f"unknown entries {', '.join(sorted(unknown))}; choose from {', '.join(TABLE)}")
    threads = f"{args.threads} thread(s)" if args.threads else "default threads"
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"bprop / torch, float32, SGD momentum 0.9, {threads}; load average {load}")
    for key in filter(None, args.only.split(",")):
        network, shape, batch = TABLE[key]
        run(f"{key} train, batch {batch}", network, shape, batch, "train", args.rounds)
    if args.sweep:
        for network, shape in SWEEP_NETWORKS.items():
            for mode in ("infer", "train"):
                for batch in SWEEP_BATCHES:
                    run(f"sweep {network} {mode}, batch {batch}", network, shape, batch, mode, args.rounds)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
