"""bp.profile: per-op calls, time and bytes, the table, and the engine hook switching off."""

import numpy as np
import pytest

import bprop as bp
from bprop import autograd, nn


def small_step(batch: int = 8) -> None:
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    x = bp.tensor(np.random.default_rng(0).standard_normal((batch, 4)).astype(np.float32))
    y = bp.tensor(np.array([0, 1, 2, 0, 1, 2, 0, 1][:batch]))
    nn.CrossEntropyLoss()(model(x), y).backward()


def test_counts_forward_and_backward_calls_per_op():
    with bp.profile() as prof:
        small_step()
    stats = prof.stats
    assert (stats["Linear"].forward_calls, stats["Linear"].backward_calls) == (2, 2)
    assert (stats["ReLU"].forward_calls, stats["ReLU"].backward_calls) == (1, 1)
    assert (stats["CrossEntropy"].forward_calls, stats["CrossEntropy"].backward_calls) == (1, 1)
    assert all(s.forward_seconds > 0 and s.backward_seconds > 0 for s in stats.values())
    assert prof.wall_seconds >= sum(s.total_seconds for s in stats.values())


def test_ops_without_graph_have_no_backward_calls():
    with bp.profile() as prof, bp.no_grad():
        bp.tensor([1.0, -2.0]).relu()
    assert (prof.stats["ReLU"].forward_calls, prof.stats["ReLU"].backward_calls) == (1, 0)


def test_bytes_are_the_ops_allocations():
    x = bp.tensor(np.ones((1000, 1000), np.float32), requires_grad=True)
    with bp.profile() as prof:
        x.relu().sum().backward()
    relu = prof.stats["ReLU"]
    # forward allocates the 4 MB output; backward the 4 MB gradient (and a 1 MB mask)
    assert 4e6 <= relu.peak_bytes < 2e7
    assert relu.bytes_allocated >= 8e6
    with bp.profile(memory=False) as prof:
        x.relu()
    assert prof.stats["ReLU"].bytes_allocated == 0


def test_table_is_sorted_by_total_time_and_names_every_op():
    with bp.profile() as prof:
        small_step()
    lines = prof.table().splitlines()
    assert lines[0].split()[:2] == ["op", "fwd"]
    rows = lines[2:-1]
    assert {row.split()[0] for row in rows} == set(prof.stats)
    totals = [float(row.split()[7]) for row in rows]
    assert totals == sorted(totals, reverse=True)
    assert lines[-1].startswith("time in ops")
    assert len(prof.table(limit=2).splitlines()) == 2 + 2 + 1


def test_hook_is_off_outside_the_block_even_after_an_error():
    with pytest.raises(ValueError, match="inside"):
        with bp.profile():
            assert autograd._profiler is not None
            raise ValueError("inside")
    assert autograd._profiler is None
    with bp.profile() as prof:
        pass
    bp.tensor([1.0], requires_grad=True).relu().sum().backward()
    assert prof.stats == {}


def test_profiles_do_not_nest():
    with bp.profile(), pytest.raises(RuntimeError, match="nest"):
        with bp.profile():
            pass
    assert autograd._profiler is None


def test_results_unchanged_under_profiling():
    x = bp.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    (x.tanh() * x).sum().backward()
    expected = np.array(x.grad)
    x.grad = None
    with bp.profile():
        (x.tanh() * x).sum().backward()
    np.testing.assert_array_equal(x.grad, expected)
