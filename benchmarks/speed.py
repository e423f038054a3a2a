"""Training-step (and inference) time and peak memory of bprop against torch CPU for the networks
people train here, in two harnesses, and a sweep over batch sizes that shows where a regression
happens.

    python benchmarks/speed.py             # the table: MLP, CNNs, LeNet-5, batch 1, both harnesses
    python benchmarks/speed.py --threads 1 # both frameworks on one thread
    python benchmarks/speed.py --no-tune   # bprop without bp.runtime.tune() (the opt-in tuning)
    python benchmarks/speed.py --harness paired --rounds 11   # one harness, more rounds
    python benchmarks/speed.py --only lenet5,cnn-mnist
    python benchmarks/speed.py --repeat 3  # the table three times, then each case's median and
                                           # range over the runs (what README's table shows)
    python benchmarks/speed.py --sweep     # also batch 1, 16, 64, 256 for MLP and CNN (MNIST
                                           # shape), inference and training (paired harness)

Networks (float32, cross-entropy, SGD with momentum 0.9, the same data and initialisation
scheme in both frameworks, each framework with its default threads):
  mlp       784-512-256-10, ReLU
  cnn       conv3×3(C→32, pad 1)-ReLU-maxpool2-conv3×3(32→64, pad 1)-ReLU-maxpool2-fc128-ReLU-fc10,
            MNIST shape (1×28×28) and CIFAR shape (3×32×32)
  lenet5    the classic: conv5×5(1→6, pad 2)-tanh-avgpool2-conv5×5(6→16)-tanh-avgpool2-
            fc120-tanh-fc84-tanh-fc10 on 1×28×28

Two harnesses, each framework in its own process with its default threads:
  paired      harness.compare: a bprop and a torch process stay alive and their timed rounds
              (~0.2 s) alternate; the ratio is the median of the per-round ratios bprop/torch,
              which compares the two under the same load. Both processes exist at once (the
              other's threads are idle, not gone).
  sequential  harness.compare_sequential: a fresh process of one framework alone, then of the
              other, --runs times (who goes first alternates); the ratio is the median of the
              runs' ratios, with their range. Nothing of the other framework exists meanwhile.
ms are bprop's and torch's median time per step (paired harness). Peak memory is each process's
resident-set growth from before its first step (harness.reset_peak_memory). bprop's processes
call bp.runtime.tune(), as `bprop train` does (--no-tune: without). Each line starts with the
1-minute load average when it started: on a machine shared with other work the ratios move;
read the medians of a few runs, and the load beside them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

# name: (network, input shape (C, H, W) or (features,), batch, mode)
TABLE = {
    "mlp-64": ("mlp", (784,), 64, "train"),
    "mlp-256": ("mlp", (784,), 256, "train"),
    "cnn-mnist": ("cnn", (1, 28, 28), 64, "train"),
    "cnn-cifar": ("cnn", (3, 32, 32), 128, "train"),
    "lenet5": ("lenet5", (1, 28, 28), 64, "train"),
    "mlp-1": ("mlp", (784,), 1, "train"),
    "mlp-1-infer": ("mlp", (784,), 1, "infer"),
    "cnn-1": ("cnn", (1, 28, 28), 1, "train"),
    "cnn-1-infer": ("cnn", (1, 28, 28), 1, "infer"),
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

        if os.environ.get("BENCH_TUNE", "1") == "1":  # the opt-in process tuning `bprop train` uses
            lib.runtime.tune()
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


def child(args: list[str]) -> None:
    """A benchmark process: ``once FRAMEWORK NETWORK SHAPE BATCH MODE ROUNDS`` times itself and
    exits (sequential harness); ``FRAMEWORK NETWORK SHAPE BATCH MODE`` serves paired rounds."""
    once = args[0] == "once"
    framework, network, shape, batch, mode = args[1:6] if once else args[:5]
    step = make_step(framework, network, tuple(int(d) for d in shape.split("x")), int(batch), mode)
    if once:
        harness.measure_and_print(step, warmup=3, rounds=int(args[6]))
    else:
        harness.serve(step)


def load() -> str:
    return f"{os.getloadavg()[0]:5.2f}"


def run(name: str, network: str, shape: tuple[int, ...], batch: int, mode: str, args: argparse.Namespace) -> dict:
    """One line of the table, printed; returns its ratios, memory and load for --repeat's summary."""
    child_args = [network, "x".join(map(str, shape)), str(batch), mode]
    result = {"load": os.getloadavg()[0]}
    line = f"{name:<24} load {load()}"
    if args.harness in ("paired", "both"):
        paired = harness.compare(__file__, child_args, args.rounds)
        ours, ref = paired["bprop"], paired["torch"]
        line += (
            f" | paired: bprop {ours['seconds'] * 1e3:7.2f} ms  torch {ref['seconds'] * 1e3:7.2f} ms"
            f"  ratio {paired['ratio']:4.2f}"
        )
        memory = f" | peak MB bprop {ours['peak_mb']:5.1f} torch {ref['peak_mb']:5.1f}"
        result.update(paired=paired["ratio"], memory=ours["peak_mb"] / max(ref["peak_mb"], 1e-9))
    if args.harness in ("sequential", "both"):
        seq = harness.compare_sequential(__file__, child_args, args.runs)
        low, high = seq["range"]
        line += f" | sequential: ratio {seq['ratio']:4.2f} ({low:4.2f}-{high:4.2f})"
        result["sequential"] = seq["ratio"]
        if args.harness == "sequential":
            line += f"  bprop {seq['bprop']['seconds'] * 1e3:7.2f} ms  torch {seq['torch']['seconds'] * 1e3:7.2f} ms"
            memory = f" | peak MB bprop {seq['bprop']['peak_mb']:5.1f} torch {seq['torch']['peak_mb']:5.1f}"
            result["memory"] = seq["bprop"]["peak_mb"] / max(seq["torch"]["peak_mb"], 1e-9)
    print(line + memory, flush=True)
    return result


def summary(results: dict[str, list[dict]]) -> None:
    """Each case's median and range over the --repeat runs, per harness, with the loads seen."""
    print(f"\nmedian (range) of {len(next(iter(results.values())))} runs; bprop / torch")
    print(f"{'case':<24} {'paired':<18} {'sequential':<18} {'peak memory':<18} load")
    for name, runs in results.items():
        cells = []
        for key in ("paired", "sequential", "memory"):
            values = sorted(r[key] for r in runs if key in r)
            cells.append(f"{np.median(values):4.2f} ({values[0]:4.2f}-{values[-1]:4.2f})" if values else "-")
        loads = [r["load"] for r in runs]
        print(f"{name:<24} {cells[0]:<18} {cells[1]:<18} {cells[2]:<18} {min(loads):.2f}-{max(loads):.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(TABLE), help="comma-separated subset of " + ", ".join(TABLE))
    parser.add_argument("--sweep", action="store_true", help="also batch sizes 1-256, inference and training")
    parser.add_argument("--harness", choices=("paired", "sequential", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=7, help="paired timed rounds per line (default 7)")
    parser.add_argument("--runs", type=int, default=3, help="sequential runs per line (default 3)")
    parser.add_argument("--threads", type=int, help="threads of both frameworks (default: theirs)")
    parser.add_argument("--no-tune", action="store_true", help="bprop without bp.runtime.tune()")
    parser.add_argument("--repeat", type=int, default=1, help="run the table N times, then a summary (default 1)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.threads:  # inherited by the children; read when NumPy's BLAS, bprop and torch start
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    os.environ["BENCH_TUNE"] = "0" if args.no_tune else "1"
    unknown = set(args.only.split(",")) - set(TABLE) - {""}
    if unknown:
        parser.error(f"unknown entries {', '.join(sorted(unknown))}; choose from {', '.join(TABLE)}")
    threads = f"{args.threads} thread(s)" if args.threads else "default threads"
    tuning = "bprop untuned (--no-tune)" if args.no_tune else "bprop tuned (bp.runtime.tune())"
    print(f"bprop / torch, float32, SGD momentum 0.9, {threads}, {tuning}; load average {load()}")
    results: dict[str, list[dict]] = {}
    for repeat in range(args.repeat):
        if args.repeat > 1:
            print(f"run {repeat + 1} of {args.repeat}", flush=True)
        for key in filter(None, args.only.split(",")):
            network, shape, batch, mode = TABLE[key]
            name = f"{key.removesuffix('-infer')} {mode}, batch {batch}"
            results.setdefault(name, []).append(run(name, network, shape, batch, mode, args))
    if args.repeat > 1:
        summary(results)
    if args.sweep:
        for network, shape in SWEEP_NETWORKS.items():
            for mode in ("infer", "train"):
                for batch in SWEEP_BATCHES:
                    run(f"sweep {network} {mode}, batch {batch}", network, shape, batch, mode, args)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
