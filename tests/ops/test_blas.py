"""BLAS threads follow the free cores: the policy, the adaptation loop, and finding OpenBLAS."""

import numpy as np
import pytest

from bprop.ops import blas


def test_policy_all_cores_when_free_one_when_busy_and_hysteresis_between():
    assert blas.threads_for(0.0, cores=4, current=1) == 4
    assert blas.threads_for(1.0, cores=4, current=4) == 1
    assert blas.threads_for(0.5, cores=4, current=1) == 1  # between the thresholds: keep
    assert blas.threads_for(0.5, cores=4, current=4) == 4


def test_adapt_follows_the_other_processes(monkeypatch):
    state = blas._State()
    state.cores, state.checked, state.threads = 2, True, 2
    calls = []
    state.set_threads = calls.append
    monkeypatch.setattr(blas, "_state", state)
    clock = iter(np.arange(0, 100, blas.SAMPLE_SECONDS * 1.01))
    monkeypatch.setattr(blas.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(blas, "_own_running", lambda: 1)
    monkeypatch.setattr(blas, "_running_threads", lambda: 3)  # two threads of others run
    for _ in range(20):
        blas.adapt()
    assert calls == [1] and state.threads == 1
    monkeypatch.setattr(blas, "_running_threads", lambda: 1)  # only us
    for _ in range(20):
        blas.adapt()
    assert calls == [1, 2] and state.threads == 2


def test_a_thread_count_chosen_by_the_user_is_left_alone(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert blas._user_chose()
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("BPROP_ADAPT_BLAS_THREADS", "0")
    assert blas._user_chose()


def test_finds_numpys_openblas_and_sets_its_threads():
    found = blas.find_openblas()
    if found is None:
        pytest.skip("NumPy's BLAS here is not OpenBLAS")
    setter, getter = found
    before = getter()
    try:
        setter(1)
        assert getter() == 1
        a = np.arange(64 * 64, dtype=np.float64).reshape(64, 64)
        np.testing.assert_allclose(a @ a.T, np.einsum("ik,jk->ij", a, a))
    finally:
        setter(before)


def test_workers_follow_the_held_count_then_the_environment_then_adapt(monkeypatch):
    state = blas._State()
    state.cores = 4
    monkeypatch.setattr(blas, "_state", state)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert blas.workers() == 1  # nothing known yet: no parallel work
    state.set_threads, state.threads = (lambda n: None), 4
    assert blas.workers() == 4
    state.threads = 1  # adapt() found the cores busy
    assert blas.workers() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas.workers() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    assert blas.workers() == 4  # never more than the cores
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    state.threads = 2
    assert blas.workers() == 2
    with blas.held(1):
        assert blas.workers() == 1
        with blas.held(2):
            assert blas.workers() == 2
        assert blas.workers() == 1
    assert blas.workers() == 2
