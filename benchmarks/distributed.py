"""Data-parallel throughput with 1 and 2 MPI processes on this machine (one BLAS thread per
rank), the scaling efficiency, and the allreduce time per step beside the compute time.

    python benchmarks/distributed.py

Models: the MNIST MLP 784-512-256-10 and the MNIST CNN of benchmarks/cnn.py, batch 64 per
process, on MNIST-shaped random data (the data do not change the arithmetic).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

STEPS = {"mlp": 60, "cnn": 12}
BATCH = 64


def build(kind: str):
    from bprop import nn

    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    import cnn

    return nn.Sequential(*cnn.layers(nn, (1, 28, 28)))


def child(kind: str) -> None:
    import bprop as bp
    from bprop import distributed as dist
    from bprop import nn, optim

    dist.init()
    bp.manual_seed(dist.rank())
    model = build(kind)
    dist.broadcast_parameters(model)
    opt, loss_fn = optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()
    rng = np.random.default_rng(dist.rank())
    x = bp.tensor(rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32))
    y = bp.tensor(rng.integers(0, 10, BATCH))
    compute = reduce = 0.0
    for step in range(STEPS[kind] + 3):
        if step == 3:  # warm-up done
            compute = reduce = 0.0
            dist.allreduce_sum([0.0])  # line the ranks up before timing
            start = time.perf_counter()
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        t1 = time.perf_counter()
        dist.allreduce_gradients(model)
        t2 = time.perf_counter()
        opt.step()
        compute += (t1 - t0) + (time.perf_counter() - t2)
        reduce += t2 - t1
    elapsed = time.perf_counter() - start
    if dist.is_main():
        n = STEPS[kind]
        print(
            json.dumps(
                {
                    "samples_per_s": n * BATCH * dist.world_size() / elapsed,
                    "compute_ms": compute / n * 1e3,
                    "allreduce_ms": reduce / n * 1e3,
                }
            )
        )


def run(kind: str, processes: int) -> dict:
    from bprop import distributed as dist

    argv = [__file__, "--child", kind]
    command = dist.launch_command(processes, argv) if processes > 1 else [sys.executable, *argv]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=dist.worker_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    print(f"data-parallel training, batch {BATCH} per process, 1 BLAS thread per process")
    for kind in ("mlp", "cnn"):
        one, two = run(kind, 1), run(kind, 2)
        efficiency = two["samples_per_s"] / (2 * one["samples_per_s"])
        for n, r in ((1, one), (2, two)):
            print(
                f"MNIST {kind:<4} {n} process{'es' if n > 1 else '  '}: {r['samples_per_s']:8.0f} samples/s   "
                f"compute {r['compute_ms']:7.2f} ms/step   allreduce {r['allreduce_ms']:6.2f} ms/step"
            )
        print(
            f"MNIST {kind:<4} scaling efficiency with 2 processes: {efficiency:.0%} "
            f"(speed-up {two['samples_per_s'] / one['samples_per_s']:.2f}×)"
        )


if __name__ == "__main__":
    main()
