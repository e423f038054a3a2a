"""Sequence-model training steps (forward, loss, backward, SGD step), float32, bprop against
torch CPU in the same run, paired rounds (harness.compare):

  lstm         2-layer LSTM, input 128, hidden 256, sequence 64, batch 32, cross-entropy on a
               Linear(256 → 10) of the last step's output
  transformer  TransformerEncoderLayer(d_model 256, 4 heads, feed-forward 1024, dropout 0.1),
               sequence 128, batch 16, batch_first, MSE against a random target

    python benchmarks/rnn.py                 # time and peak-memory ratios bprop/torch
    python benchmarks/rnn.py --case lstm     # one case
    python benchmarks/rnn.py --profile       # also the top costs of bprop's steps (cProfile)
    python benchmarks/rnn.py --threads 1     # both frameworks on one thread

Targets (issue 16): time ≤ 1.5× torch's for both cases.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

LSTM = {"input": 128, "hidden": 256, "layers": 2, "length": 64, "batch": 32, "classes": 10}
TRANSFORMER = {"d_model": 256, "heads": 4, "feedforward": 1024, "length": 128, "batch": 16}


def lstm_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((LSTM["length"], LSTM["batch"], LSTM["input"])).astype(np.float32)
    return x, rng.integers(0, LSTM["classes"], LSTM["batch"])


def transformer_data():
    rng = np.random.default_rng(0)
    shape = (TRANSFORMER["batch"], TRANSFORMER["length"], TRANSFORMER["d_model"])
    return rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def lstm_step(lib, nn, tensor):
    """The same code for both libraries: their module APIs agree."""
    rnn = nn.LSTM(LSTM["input"], LSTM["hidden"], num_layers=LSTM["layers"])
    head = nn.Linear(LSTM["hidden"], LSTM["classes"])
    params = [*rnn.parameters(), *head.parameters()]
    opt = lib.optim.SGD(params, lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x, y = map(tensor, lstm_data())

    def step() -> None:
        opt.zero_grad()
        out, _ = rnn(x)
        loss_fn(head(out[-1]), y).backward()
        opt.step()

    return step


def transformer_step(lib, nn, tensor):
    d = TRANSFORMER
    layer = nn.TransformerEncoderLayer(d["d_model"], d["heads"], dim_feedforward=d["feedforward"], batch_first=True)
    opt = lib.optim.SGD(layer.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    x, target = map(tensor, transformer_data())

    def step() -> None:
        opt.zero_grad()
        loss_fn(layer(x), target).backward()
        opt.step()

    return step


CASES = {"lstm": lstm_step, "transformer": transformer_step}


def make_step(framework: str, case: str):
    if framework == "bprop":
        import bprop as bp

        bp.runtime.tune()  # the opt-in process tuning `bprop train` uses (README: Threads)
        bp.manual_seed(0)
        return CASES[case](bp, bp.nn, bp.tensor)
    import torch

    if "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    return CASES[case](torch, torch.nn, torch.from_numpy)


def profile(case: str) -> None:
    step = make_step("bprop", case)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        step()
    profiler.disable()
    print(f"\nbprop {case}: top costs over 3 steps")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        harness.serve(make_step(sys.argv[2], sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="run only this case (repeatable)")
    parser.add_argument("--rounds", type=int, default=7, help="paired timing rounds per case")
    parser.add_argument("--profile", action="store_true", help="print the top costs of bprop's steps")
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads of both frameworks (default: theirs)")
    args = parser.parse_args()
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    cases = args.case or list(CASES)
    print("sequence training steps, SGD, float32" + (f", {args.threads} thread(s)" if args.threads else ""))
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for case in cases:
        print(harness.report_pair(case, harness.compare(__file__, [case], rounds=args.rounds)))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.profile:
        for case in cases:
            profile(case)


if __name__ == "__main__":
    main()
