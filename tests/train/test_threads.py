"""blas_threads: with threadpoolctl, and without it through NumPy's own OpenBLAS."""

import sys

import pytest

from bprop.train.threads import _numpy_openblas, blas_threads


def test_without_threadpoolctl_numpy_openblas_is_limited_and_restored(monkeypatch):
    openblas = _numpy_openblas()
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
