"""runtime.pool: work split over threads gives the same numbers as done whole, in every layout, and
the split depends on the thread count and the shapes only."""

import os
import threading
import time

import numpy as np
import pytest

from bprop import runtime
from bprop.autograd import Context
from bprop.ops.activation import ReLU
from bprop.ops.kernels.relu import relu_array, relu_backward_array
from bprop.ops.pooling import AvgPool2d, MaxPool2d
from bprop.runtime import pool


@pytest.fixture
def two_workers():
    with runtime.using_threads(2):
        yield


def test_parts_cover_the_range_once_and_small_work_stays_whole(two_workers):
    big = pool.MIN_ITEMS * 4
    assert pool.parts(10, big // 10) == [slice(0, 5), slice(5, 10)]
    assert pool.parts(7, 1) == [slice(0, 7)]  # 7 elements: not worth a thread
    assert pool.parts(1, big) == [slice(0, 1)]  # one sample cannot be split
    assert pool.parts(0, big) == [slice(0, 0)]
    with runtime.using_threads(1):
        assert pool.parts(10, big) == [slice(0, 10)]


def test_for_parts_runs_every_part_on_two_threads_and_waits(two_workers):
    seen, threads = [], set()

    def work(part):
        seen.append((part.start, part.stop))
        threads.add(threading.get_ident())

    pool.for_parts(work, 2 * pool.MIN_ITEMS)
    assert sorted(seen) == [(0, pool.MIN_ITEMS), (pool.MIN_ITEMS, 2 * pool.MIN_ITEMS)]
    assert len(threads) == 2


def test_an_error_in_a_worker_reaches_the_caller_after_all_parts_end(two_workers):
    done = []

    def work(part):
        if part.start > 0:
            raise ValueError("part two failed")
        done.append(part)

    with pytest.raises(ValueError, match="part two failed"):
        pool.for_parts(work, 2 * pool.MIN_ITEMS)
    assert len(done) == 1


def test_errstate_holds_in_the_workers(two_workers):
    x = np.zeros(2 * pool.MIN_ITEMS)

    def divide(part):
        np.divide(1.0, x[part])

    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        pool.for_parts(divide, x.size)
    with np.errstate(divide="ignore"):
        pool.for_parts(divide, x.size)  # no warning either: pytest turns warnings into failures below


def _layouts(rng, shape):
    nhwc = rng.standard_normal((shape[0], shape[2], shape[3], shape[1]))
    yield "nchw", np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
    yield "nchw view of nhwc", nhwc.transpose(0, 3, 1, 2)
    yield "strided slice", rng.standard_normal((shape[0], shape[1], shape[2], 2 * shape[3]))[..., ::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_split_equals_relu_whole_in_every_layout_with_nan_and_inf(two_workers, dtype):
    rng = np.random.default_rng(0)
    shape = (16, 8, 64, 65)  # 2.1 M elements, an odd width: the parts do not end on rows
    for name, x in _layouts(rng, shape):
        x = x.astype(dtype, copy=False)
        x.flat[[0, 7, 1000, -1]] = [np.nan, np.inf, -np.inf, 0.0]
        np.testing.assert_array_equal(relu_array(x), np.maximum(x, 0), err_msg=name)
        a = relu_array(x)
        g = rng.standard_normal(x.shape).astype(dtype)
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) if "view" in name else g
        np.testing.assert_array_equal(relu_backward_array(a, g), g * ~(a <= 0), err_msg=name)
        ctx = Context(ReLU)
        ReLU.forward(ctx, x)
        assert ReLU.backward(ctx, g)[0].dtype == dtype


@pytest.mark.parametrize("op", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pooling_split_over_the_batch_equals_pooling_whole(op, kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((64, 16, 33, 33)), 0)  # ReLU'd: ties at 0 in many windows
    x[3, 2, 5, 5] = np.nan
    x[7, 1] = -np.inf
    results = []
    g = None
    for workers in (1, 2):
        with runtime.using_threads(workers):
            ctx = Context(op)
            y = op.forward(ctx, x, kernel, stride, padding)
            g = rng.standard_normal(y.shape) if g is None else g
            results.append((y.copy(), op.backward(ctx, g)[0]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("banded", [False, True])
@pytest.mark.parametrize(
    ("x_layout", "groups", "stride", "padding"),
    [("nchw", 1, 1, 1), ("nhwc", 1, 1, 1), ("nhwc", 2, 2, 0), ("nchw", 1, 2, 2)],
)
def test_conv_split_over_the_batch_equals_conv_whole(monkeypatch, x_layout, groups, stride, padding, banded):
    """Each part runs its own chunks (here about 3 samples) with its own workspace and
    weight-gradient sum; forward and every gradient equal the single-thread result. Both routes:
    im2col, and the banded row GEMMs (groups=1 only)."""
    from bprop.ops import conv
    from bprop.ops.kernels import conv_banded, conv_gemm, im2col

    if banded and groups > 1:
        pytest.skip("the banded route is for groups=1")
    limit = 10**6 if banded else 0
    for name in ("MAX_OUT", "MAX_WIDTH_PER_TAP", "THIN_MAX_WIDTH_PER_TAP"):
        monkeypatch.setattr(conv_banded, name, limit)
    monkeypatch.setattr(conv_banded, "MIN_BATCH", 0)
    # about 3 samples a chunk: X_col's 18·18 rows of 9·8 float64, or X_rows' 18 rows of 3·20·8
    monkeypatch.setattr(im2col, "COLS_CHUNK_BYTES", 3 * (18 * 3 * 20 * 8 if banded else 18 * 18 * 9 * 8) * 8)
    monkeypatch.setattr(conv_gemm, "PART_MIN_COLS", 1000)  # every case splits
    monkeypatch.setattr(conv_banded, "PART_MIN_ITEMS", 1000)
    split = []
    monkeypatch.setattr(pool, "parts", lambda *args, real=pool.parts: split.append(real(*args)) or split[-1])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 8, 18, 18))
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) if x_layout == "nhwc" else x
    w, b = rng.standard_normal((6, 8 // groups, 3, 3)), rng.standard_normal(6)
    results = []
    for workers in (1, 2):
        with runtime.using_threads(workers):
            ctx = Context(conv.Conv2d)
            ctx.needs_input_grad = (True, True, True)
            y = conv.Conv2d.forward(ctx, x, w, b, stride, padding, 1, groups)
            # δ channels-last, as it comes back from the next layer: no layout copy (itself split) counts
            g = np.random.default_rng(3).standard_normal(np.array(y.shape)[[0, 2, 3, 1]]).transpose(0, 3, 1, 2)
            results.append((y.copy(), *conv.Conv2d.backward(ctx, g)))
    assert [len(p) for p in split] == [1, 1, 2, 2]  # forward and backward, one worker then two
    for whole, halves in zip(*results):
        np.testing.assert_allclose(halves, whole, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_splits_work_with_threads_of_its_own(two_workers):
    """The parent's pool threads do not exist in a child made by fork; the child must not wait
    on their queue (it would hang), but start its own."""
    pool.for_parts(lambda part: None, 2 * pool.MIN_ITEMS)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if split work completes
        try:
            seen = []
            pool.for_parts(seen.append, 2 * pool.MIN_ITEMS)
            os._exit(0 if len(seen) == 2 else 1)
        finally:
            os._exit(2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung waiting on the parent's threads")
