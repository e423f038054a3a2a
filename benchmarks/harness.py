"""Shared measuring for the benchmarks: step timing and peak memory, each framework in its
own subprocess so that neither one's allocations or thread pools disturb the other.

Peak memory is the growth of the resident set while the training steps run: the child reads
its RSS after building data and model, resets the kernel's high-water mark (writing 5 to
/proc/self/clear_refs), runs the steps, and reports VmHWM − that baseline. It counts every
allocation (NumPy's, torch's, BLAS buffers) the same way; where /proc is not writable the
figure falls back to ru_maxrss and says so.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_memory() -> tuple[int, bool]:
    """Current RSS in KiB and whether the high-water mark could be reset."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS"), True
    except OSError:
        return _status_kb("VmRSS"), False


def peak_memory_mb(baseline_kb: int) -> float:
    return (_status_kb("VmHWM") - baseline_kb) / 1024


def time_step(step: Callable[[], None], warmup: int = 5, rounds: int = 7, min_time: float = 0.2) -> float:
    """Median seconds per call of ``step`` over several rounds of enough calls each."""
    for _ in range(warmup):
        step()
    calls = 1
    while True:  # grow the calls per round until one round takes min_time
        start = time.perf_counter()
        for _ in range(calls):
            step()
        if time.perf_counter() - start >= min_time or calls >= 1 << 12:
            break
        calls *= 2
    per_call = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        per_call.append((time.perf_counter() - start) / calls)
    return statistics.median(per_call)


def training_step(model, loss_fn, opt, x, y) -> Callable[[], None]:
    """One SGD training step as a closure; bprop and torch share this API, so one serves both."""

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def measure_and_print(step: Callable[[], None], **timing: float) -> None:
    """The child's side of run_child: one step outside the timing (first-call allocations
    count towards peak memory), then time_step, printed as the JSON run_child parses."""
    baseline, _ = reset_peak_memory()
    step()
    seconds = time_step(step, **timing)
    print(json.dumps({"seconds": seconds, "peak_mb": peak_memory_mb(baseline)}))


def run_child(script: str, *args: str) -> dict:
    """Run ``script --child args…`` and parse the JSON it prints last (measure_and_print's)."""
    out = subprocess.run([sys.executable, script, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(name: str, ours: dict, ref: dict) -> str:
    return (
        f"{name:<28} bprop {ours['seconds'] * 1e3:8.2f} ms  torch {ref['seconds'] * 1e3:8.2f} ms  "
        f"time ratio {ours['seconds'] / ref['seconds']:5.2f}   peak memory bprop "
        f"{ours['peak_mb']:7.1f} MB  torch {ref['peak_mb']:7.1f} MB  ratio "
        f"{ours['peak_mb'] / max(ref['peak_mb'], 1e-9):5.2f}"
    )


def serve(step: Callable[[], None], min_time: float = 0.2, warmup: int = 3) -> None:
    """The child's side of Pair: warm up, choose how many calls make a round of ``min_time``,
    then time one round per "round" line read from stdin until "stop", which answers with the
    peak memory (the growth from before the first step, as in measure_and_print)."""
    baseline, _ = reset_peak_memory()
    for _ in range(warmup):
        step()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            step()
        if time.perf_counter() - start >= min_time or calls >= 1 << 12:
            break
        calls *= 2
    print(json.dumps({"calls": calls}), flush=True)
    for line in sys.stdin:
        if line.strip() == "stop":
            print(json.dumps({"peak_mb": peak_memory_mb(baseline)}), flush=True)
            return
        start = time.perf_counter()
        for _ in range(calls):
            step()
        print(json.dumps({"seconds": (time.perf_counter() - start) / calls}), flush=True)


class _Child:
    def __init__(self, script: str, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, script, "--child", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.answer()  # ready: warmed up and calibrated

    def answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark child {self.proc.args[3:]} died (exit code {self.proc.wait()})")
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.answer()

    def close(self) -> dict:
        peak = self.ask("stop")
        self.proc.wait()
        return peak


# A pause before each round: after its work, each framework's idle threads keep spinning on the
# cores for a while (OpenBLAS's by default 2**28 cycles, ~0.1 s; OpenMP's some ms), which slowed
# the start of the other child's round and made whichever ran first look better.
SETTLE_SECONDS = 0.15


def compare(script: str, args: list[str], rounds: int = 7) -> dict:
    """bprop against torch, paired: both children stay alive, and their timed rounds (about
    0.2 s each) alternate, so that each bprop round has a torch round next to it under the same
    load. The time ratio is the median of the per-pair ratios, which is what stays steady on a
    busy machine where the per-framework medians drift. Returns the children's median seconds
    and peak memory, and that ratio."""
    children = {framework: _Child(script, [framework, *args]) for framework in ("bprop", "torch")}
    seconds: dict[str, list[float]] = {"bprop": [], "torch": []}
    try:
        for i in range(rounds):
            for framework in ("bprop", "torch") if i % 2 == 0 else ("torch", "bprop"):
                time.sleep(SETTLE_SECONDS)  # the other child's idle threads stop spinning first
                seconds[framework].append(children[framework].ask("round")["seconds"])
    finally:
        peaks = {framework: child.close()["peak_mb"] for framework, child in children.items()}
    ratios = [ours / ref for ours, ref in zip(seconds["bprop"], seconds["torch"])]
    return {
        "bprop": {"seconds": statistics.median(seconds["bprop"]), "peak_mb": peaks["bprop"]},
        "torch": {"seconds": statistics.median(seconds["torch"]), "peak_mb": peaks["torch"]},
        "ratio": statistics.median(ratios),
    }


def report_pair(name: str, result: dict) -> str:
    ours, ref = result["bprop"], result["torch"]
    return (
        f"{name:<34} bprop {ours['seconds'] * 1e3:8.2f} ms  torch {ref['seconds'] * 1e3:8.2f} ms  "
        f"ratio {result['ratio']:5.2f}   peak MB bprop {ours['peak_mb']:6.1f}  torch {ref['peak_mb']:6.1f}  "
        f"ratio {ours['peak_mb'] / max(ref['peak_mb'], 1e-9):5.2f}"
    )


def compare_sequential(script: str, args: list[str], runs: int = 3, rounds: int = 5) -> dict:
    """bprop against torch, the second harness: each framework alone in a fresh process, one
    after the other (never two benchmark processes alive at once). A run is one bprop process
    and one torch process back to back, each warming up and timing ``rounds`` rounds of its own
    (time_step); its ratio is bprop's median over torch's. Which goes first alternates between
    runs, so a drift in the machine's load does not favour one. Nothing of the other framework
    runs meanwhile (its threads are gone, not only idle), but the two are timed seconds apart,
    so the ratio is noisier than compare()'s on a busy machine. Returns the median of the runs'
    seconds and peak memory, the median run ratio and the ratios' range."""
    results: dict[str, list[dict]] = {"bprop": [], "torch": []}
    for i in range(runs):
        for framework in ("bprop", "torch") if i % 2 == 0 else ("torch", "bprop"):
            results[framework].append(run_child(script, "once", framework, *args, str(rounds)))
    ratios = [ours["seconds"] / ref["seconds"] for ours, ref in zip(results["bprop"], results["torch"])]
    return {
        framework: {key: statistics.median(r[key] for r in results[framework]) for key in ("seconds", "peak_mb")}
        for framework in results
    } | {"ratio": statistics.median(ratios), "range": (min(ratios), max(ratios))}
