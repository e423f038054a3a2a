"""runtime.threads: one thread count, from the user or the start-up defaults, never the load."""

import pytest

from bprop import runtime
from bprop.runtime import blas, threads


@pytest.fixture
def no_choice(monkeypatch):
    """As if neither set_num_threads nor the environment had chosen a count."""
    monkeypatch.setattr(threads, "_chosen", None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)


def test_the_default_is_the_environment_else_the_usable_cores(no_choice, monkeypatch):
    assert runtime.get_num_threads() == runtime.usable_cores()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert runtime.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "5,2")  # OpenMP's nested form: the outer count
    assert runtime.get_num_threads() == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert runtime.get_num_threads() == 3


def test_the_machines_load_does_not_change_the_count(no_choice, monkeypatch):
    counts = set()
    for running in (1, 5, 50):
        monkeypatch.setattr(threads, "_running_threads", lambda running=running: running)
        counts.add(runtime.get_num_threads())
    assert counts == {runtime.usable_cores()}


def test_set_num_threads_sets_bprops_count_and_the_blas_and_using_threads_restores_both(no_choice):
    before = blas.get_num_threads()
    with runtime.using_threads(3):
        assert runtime.get_num_threads() == 3
        assert blas.get_num_threads() in (3, None)  # None: not an OpenBLAS found here
        with runtime.using_threads(1):
            assert runtime.get_num_threads() == 1
        assert runtime.get_num_threads() == 3
    assert runtime.get_num_threads() == runtime.usable_cores() and blas.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_set_num_threads_refuses_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int"):
        runtime.set_num_threads(bad)


def test_auto_picks_the_cores_other_processes_leave_free(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    for running, expected in ((1, 4), (2, 3), (4, 1), (40, 1)):  # running counts this thread
        monkeypatch.setattr(threads, "_running_threads", lambda running=running: running)
        assert runtime.auto_threads() == expected
    monkeypatch.setattr(threads, "_running_threads", lambda: None)  # no /proc/loadavg
    assert runtime.auto_threads() == 4


def test_resolve_reads_a_runs_threads_option(no_choice, monkeypatch):
    monkeypatch.setattr(threads, "auto_threads", lambda: 7)
    assert runtime.resolve("auto") == 7
    assert runtime.resolve(None) == runtime.usable_cores()
    assert runtime.resolve(2) == 2
