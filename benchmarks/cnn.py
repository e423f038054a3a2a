"""One CNN training step (forward, cross-entropy, backward, SGD step), float32, bprop against
torch CPU in the same run:

  conv3×3(C→32, pad 1) − ReLU − maxpool2 − conv3×3(32→64, pad 1) − ReLU − maxpool2 − flatten −
  fc(64·H/4·W/4 → 128) − ReLU − fc(128 → 10)

on MNIST-shaped input (1×28×28, batch 64) and CIFAR-shaped input (3×32×32, batch 128).

    python benchmarks/cnn.py            # prints time and peak-memory ratios bprop/torch
    python benchmarks/cnn.py --profile  # also the top costs of bprop's step (cProfile)

Targets (issue 3): time ≤ 2.0× torch's, peak memory ≤ 2× torch's.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

CASES = {"mnist": ((1, 28, 28), 64), "cifar": ((3, 32, 32), 128)}


def layers(nn, shape):
    c, h, w = shape
    return [nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU(), nn.Linear(128, 10)]


def data(shape, batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, *shape)).astype(np.float32), rng.integers(0, 10, batch)


def bprop_step(case: str):
    import bprop as bp
    from bprop import nn, optim

    shape, batch = CASES[case]
    bp.manual_seed(0)
    x, y = map(bp.tensor, data(shape, batch))
    model = nn.Sequential(*layers(nn, shape))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def torch_step(case: str):
    import torch
    from torch import nn

    shape, batch = CASES[case]
    torch.manual_seed(0)
    x, y = map(torch.from_numpy, data(shape, batch))
    model = nn.Sequential(*layers(nn, shape))
    loss_fn, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def child(framework: str, case: str) -> None:
    step = (bprop_step if framework == "bprop" else torch_step)(case)
    baseline, _ = harness.reset_peak_memory()
    step()
    seconds = harness.time_step(step, warmup=3, rounds=5)
    print(json.dumps({"seconds": seconds, "peak_mb": harness.peak_memory_mb(baseline)}))


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
    print("CNN conv32-pool-conv64-pool-fc128-fc10, cross-entropy, SGD momentum 0.9, float32")
    for case, (shape, batch) in CASES.items():
        ours = harness.run_child(__file__, "bprop", case)
        ref = harness.run_child(__file__, "torch", case)
        print(harness.report(f"{case} {shape}, batch {batch}", ours, ref))
    if "--profile" in sys.argv:
        for case in CASES:
            profile(case)


if __name__ == "__main__":
    main()
