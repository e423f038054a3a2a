"""The same training steps give the same bits on an idle machine and on a busy one: bprop splits
work by its thread count and the shapes only (issue 21; it used to follow /proc/loadavg, and a
conv's weight gradient then differed in the last bits with the load)."""

import subprocess
import sys
import time

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim, runtime


def cnn_weights_after_steps(steps: int = 3) -> list[np.ndarray]:
    """A CIFAR-shape CNN after a few SGD steps: its second conv, ReLUs and pools are large enough
    to be split over two threads."""
    bp.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10),
    )  # fmt: skip
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    x, y = bp.tensor(rng.standard_normal((64, 3, 32, 32), dtype=np.float32)), bp.tensor(rng.integers(0, 10, 64))
    for _ in range(steps):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    return [np.asarray(p).copy() for p in model.parameters()]


def busy_processes(count: int) -> list[subprocess.Popen]:
    """Processes that keep a core each busy, running before this returns."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    time.sleep(0.5)  # started and spinning: the run queue (/proc/loadavg's 4th field) shows them
    return procs


@pytest.mark.skipif(sys.platform == "win32", reason="busy processes via fork/exec")
def test_training_steps_give_the_same_bits_with_busy_processes_beside_them():
    with runtime.using_threads(2):  # two parts wherever the work is large enough, on any machine
        idle = cnn_weights_after_steps()
        procs = busy_processes(2 * runtime.usable_cores())
        try:
            busy = cnn_weights_after_steps()
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    for a, b in zip(idle, busy):
        np.testing.assert_array_equal(a, b)
