"""`import bprop` and running ops leave the process as they found it: OpenBLAS's thread count and
spin wait, malloc's thresholds, the environment. tune() changes the first two, untune() undoes it.

Each case runs in a fresh interpreter, since this one has long imported bprop."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = r"""
import ctypes, json, os
import numpy as np

def openblas():
    paths = sorted({l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.lower() and "/" in l})
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                     "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, name):
                return lib, getattr(lib, name)
    return None, None

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                                               "uordblks", "fordblks", "keepcost")]

def mmapped(size=48 * 2**20):
    # glibc serves this size with mmap unless its thresholds were raised (its own never go above 32 MiB)
    info = ctypes.CDLL("libc.so.6").mallinfo2
    info.restype = MallInfo2
    before = info().hblkhd
    a = np.ones(size, np.uint8)
    grown = info().hblkhd - before
    del a
    return grown >= size

def settings():
    lib, get_threads = openblas()
    out = {"env": dict(os.environ), "mmapped": mmapped()}
    if lib is not None:
        out["blas_threads"] = get_threads()
        if hasattr(lib, "openblas_thread_timeout"):
            lib.openblas_thread_timeout.restype = ctypes.c_uint
            out["spin_timeout"] = lib.openblas_thread_timeout()
    return out

np.ones((300, 300), np.float32) @ np.ones((300, 300), np.float32)  # OpenBLAS's threads started
report = {"before": settings()}
import bprop as bp
from bprop import nn, optim

bp.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                      nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 10))
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = bp.randn(64, 3, 32, 32), bp.tensor(np.arange(64) % 10)
for _ in range(2):
    opt.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    opt.step()
with bp.no_grad():
    model(x[:1])
report["after ops"] = settings()
report["threads"] = bp.get_num_threads()
report["tuning"] = vars(bp.runtime.tune())
report["tuned"] = settings()
bp.runtime.untune()
report["untuned"] = settings()
print(json.dumps(report))
"""


def run_script(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    environ.update(env, PYTHONPATH=str(SRC))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc's malloc")


@pytest.mark.parametrize("env", [{}, {"OPENBLAS_NUM_THREADS": "2"}], ids=["default", "OPENBLAS_NUM_THREADS=2"])
def test_import_and_ops_change_no_process_setting(env):
    report = run_script(**env)
    before, after = report["before"], report["after ops"]
    assert after == before  # BLAS threads, spin timeout (where readable), malloc's mmap use, environment
    assert before["mmapped"], "glibc did not mmap a 48 MiB block before bprop was imported"
    if env:
        assert report["threads"] == 2  # with two threads the conv and ReLU above ran split in parts


def test_tune_changes_malloc_and_the_spin_wait_and_untune_undoes_both():
    report = run_script()
    before, tuned, untuned = report["before"], report["tuned"], report["untuned"]
    assert report["tuning"]["malloc"] and not tuned["mmapped"]
    if "spin_timeout" in before:
        assert report["tuning"]["blas_spin"] == before["spin_timeout"] and tuned["spin_timeout"] == 22
    assert tuned["env"] == before["env"] and tuned.get("blas_threads") == before.get("blas_threads")
    assert untuned == before
