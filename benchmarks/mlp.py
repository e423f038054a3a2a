"""One training step of an MLP 784-512-256-10 (ReLU, cross-entropy, SGD with momentum),
float32, batch 64 and 256: bprop against torch CPU measured in the same run.

    python benchmarks/mlp.py            # prints time and peak-memory ratios bprop/torch

Targets (issue 2): time ratio ≤ 1.5 at batch 64, ≤ 1.1 at batch 256; peak memory ≤ torch's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SIZES = (784, 512, 256, 10)


def data(batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, SIZES[0])).astype(np.float32), rng.integers(0, 10, batch)


def bprop_step(batch: int):
    import bprop as bp
    from bprop import nn, optim

    bp.runtime.tune()  # the opt-in process tuning `bprop train` uses (README: Threads)
    bp.manual_seed(0)
    x, y = data(batch)
    x, y = bp.tensor(x), bp.tensor(y)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return harness.training_step(model, loss_fn, opt, x, y)


def torch_step(batch: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    x, y = data(batch)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return harness.training_step(model, loss_fn, opt, x, y)


def child(framework: str, batch: int) -> None:
    step = (bprop_step if framework == "bprop" else torch_step)(batch)
    harness.measure_and_print(step)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    print(f"MLP {'-'.join(map(str, SIZES))}, ReLU, cross-entropy, SGD momentum 0.9, float32")
    for batch in (64, 256):
        ours = harness.run_child(__file__, "bprop", str(batch))
        ref = harness.run_child(__file__, "torch", str(batch))
        print(harness.report(f"training step, batch {batch}", ours, ref))


if __name__ == "__main__":
    main()
