"""blas_threads: with threadpoolctl, and without it through NumPy's own OpenBLAS."""

import sys

import pytest

from bprop.ops import blas
from bprop.train.threads import blas_threads


def test_without_threadpoolctl_numpy_openblas_is_limited_and_restored(monkeypatch):
    openblas = blas.find_openblas()
    if openblas is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS found in /proc/self/maps here")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # as if not installed
    _, get_threads = openblas
    before = get_threads()
    with blas_threads(1) as limited:
        assert limited and get_threads() == 1
    assert get_threads() == before


def test_no_limit_asked_is_no_limit():
    with blas_threads(None) as limited:
        assert limited


def test_a_held_count_survives_the_adaptation_to_the_load(monkeypatch):
    """`bprop train --threads 1` used to last 0.1 s: the next conv's blas.adapt() gave the BLAS
    every core back. While held, adapt() changes nothing and workers() is the held count."""
    openblas = blas.find_openblas()
    if openblas is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS found in /proc/self/maps here")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("BPROP_ADAPT_BLAS_THREADS", raising=False)
    state = blas._State()
    state.cores = 2
    monkeypatch.setattr(blas, "_state", state)
    monkeypatch.setattr(blas, "_running_threads", lambda: 0)  # an idle machine: adapt wants all cores
    _, get_threads = openblas
    before = get_threads()
    with blas_threads(1):
        for _ in range(3):
            state.last_sample = -1.0  # every call samples
            blas.adapt()
        assert get_threads() == 1 and blas.workers() == 1
    assert get_threads() == before and state.held is None
