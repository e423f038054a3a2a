"""One CNN training step (forward, cross-entropy, backward, SGD step), float32, bprop against
torch CPU in the same run:

  conv3×3(C→32, pad 1) − ReLU − maxpool2 − conv3×3(32→64, pad 1) − ReLU − maxpool2 − flatten −
  fc(64·H/4·W/4 → 128) − ReLU − fc(128 → 10)

on MNIST-shaped input (1×28×28, batch 64) and CIFAR-shaped input (3×32×32, batch 128).

    python benchmarks/cnn.py              # prints time and peak-memory ratios bprop/torch
    python benchmarks/cnn.py --repeat 5   # five alternating runs each, then the median ratios
    python benchmarks/cnn.py --profile    # also the top costs of bprop's step (cProfile)
    python benchmarks/cnn.py --threads 1  # both frameworks on one thread (steadier on a busy machine)

Each framework runs in its own subprocess (bprop's and torch's thread pools and allocators never
share a process). Time: the median over rounds of the mean step time, after warm-up (harness.time_step).
Peak memory: the growth of the child's resident set from just before the first step to its
high-water mark (VmHWM after resetting it through /proc/self/clear_refs), which counts NumPy's,
torch's and the BLAS buffers alike; model, data and imports are in the baseline. The load
average is printed with the results: the figures are only comparable on a quiet machine.

Targets (issue 3): time ≤ 2.0× torch's, peak memory ≤ 2× torch's.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import speed

CASES = {"mnist": ((1, 28, 28), 64), "cifar": ((3, 32, 32), 128)}


def layers(nn, shape):
    """The CNN of benchmarks/speed.py (one definition of the network for both scripts)."""
    return speed.layers(nn, "cnn", shape)


def data(shape, batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, *shape)).astype(np.float32), rng.integers(0, 10, batch)


def bprop_step(case: str):
    import bprop as bp
    from bprop import nn, optim

    bp.runtime.tune()  # the opt-in process tuning `bprop train` uses (README: Threads)
    shape, batch = CASES[case]
    bp.manual_seed(0)
    x, y = map(bp.tensor, data(shape, batch))
    model = nn.Sequential(*layers(nn, shape))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return harness.training_step(model, loss_fn, opt, x, y)


def torch_step(case: str):
    import torch
    from torch import nn

    if "OMP_NUM_THREADS" in os.environ:  # --threads: the same thread count as bprop's BLAS
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    shape, batch = CASES[case]
    torch.manual_seed(0)
    x, y = map(torch.from_numpy, data(shape, batch))
    model = nn.Sequential(*layers(nn, shape))
    loss_fn, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return harness.training_step(model, loss_fn, opt, x, y)


def child(framework: str, case: str) -> None:
    step = (bprop_step if framework == "bprop" else torch_step)(case)
    harness.measure_and_print(step, warmup=3, rounds=5)


def profile(case: str) -> None:
    step = bprop_step(case)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        step()
    profiler.disable()
    print(f"\nbprop {case}: top costs over 10 steps")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs per framework and case")
    parser.add_argument("--profile", action="store_true", help="print the top costs of bprop's step")
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads of both frameworks (default: theirs)")
    args = parser.parse_args()
    if args.threads:  # inherited by the children; read when NumPy's BLAS and torch start
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    print(
        "CNN conv32-pool-conv64-pool-fc128-fc10, cross-entropy, SGD momentum 0.9, float32"
        + (f", {args.threads} thread(s)" if args.threads else "")
    )
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for case, (shape, batch) in CASES.items():
        name, runs = f"{case} {shape}, batch {batch}", []
        for i in range(args.repeat):  # alternate the order so that drifting load hits both alike
            order = ("bprop", "torch") if i % 2 == 0 else ("torch", "bprop")
            result = {framework: harness.run_child(__file__, framework, case) for framework in order}
            runs.append(result)
            print(harness.report(name, result["bprop"], result["torch"]))
        if args.repeat > 1:
            time_ratio = statistics.median(r["bprop"]["seconds"] / r["torch"]["seconds"] for r in runs)
            memory_ratio = statistics.median(r["bprop"]["peak_mb"] / r["torch"]["peak_mb"] for r in runs)
            print(
                f"{name:<28} median of {args.repeat}: time ratio {time_ratio:5.2f}   peak memory ratio "
                f"{memory_ratio:5.2f}"
            )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.profile:
        for case in CASES:
            profile(case)


if __name__ == "__main__":
    main()
