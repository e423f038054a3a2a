"""bprop's own parallel work: a fixed pool of threads, and parts that depend on the thread
count and the shapes only.

NumPy runs a ufunc on one core, while torch spreads its elementwise kernels (ReLU, pooling) over
all of them. NumPy releases the GIL inside a ufunc's loop and a copy, so Python threads that each
run the same ufunc on a part of the data do use several cores: max(x, 0) over 4 M float32 took
2.3 ms on one thread and 1.3 ms on two on the benchmark machine (memory bandwidth keeps it from
2×). Handing a part to a thread costs about 0.1 ms, so work under MIN_ITEMS elements stays whole,
and work that fits in the caches gains nothing.

How many parts: at most get_num_threads(), fewer when the work is small. Never the machine's
load: the parts of a sum decide its rounding, so the split must be the same on an idle machine
and a busy one. Each part runs in a copy of the caller's context, so ``np.errstate`` (a context
variable) holds in the workers too. Parts must write disjoint memory; the first part runs in the
calling thread; work started inside a part is not split again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from bprop.runtime import blas
from bprop.runtime.threads import get_num_threads

MIN_ITEMS = 1 << 18  # elements of work per part below which a hand-off costs more than it saves

T = TypeVar("T")


def worth_splitting(items: int) -> bool:
    """Whether work of this many elements could be split at all (callers of small work skip the
    bookkeeping: a few µs count on a 64×512 ReLU)."""
    return items >= 2 * MIN_ITEMS


class _Pool:
    executor: ThreadPoolExecutor | None = None
    size = 0


_pool = _Pool()


def _executor(workers: int) -> ThreadPoolExecutor:
    """The pool, with at least ``workers`` threads (made once; remade only when a larger thread
    count is asked for)."""
    if _pool.executor is None or _pool.size < workers:
        if _pool.executor is not None:
            _pool.executor.shutdown(wait=True)
        _pool.executor, _pool.size = ThreadPoolExecutor(workers, thread_name_prefix="bprop-part"), workers
    return _pool.executor


def _forget_pool_in_child() -> None:
    """A forked child has none of the parent's threads, but would wait on their queue forever."""
    _pool.executor, _pool.size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


class _Inside(threading.local):
    active = False  # this thread runs a part: work it starts stays whole (no nested hand-offs)


_inside = _Inside()


def parts(n: int, items_each: int, min_items: int | None = None) -> list[slice]:
    """range(n) as contiguous slices, at most one per thread, none with under ``min_items``
    (default MIN_ITEMS) elements of work (``items_each``: the elements one index stands for,
    e.g. one sample's). A function of its arguments and get_num_threads() only."""
    count = min(n, n * items_each // (min_items or MIN_ITEMS))
    if count < 2 or _inside.active:  # the common small case returns before asking for the count
        return [slice(0, n)]
    count = min(count, get_num_threads())
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def for_parts(
    work: Callable[[slice], T], n: int, items_each: int = 1, gemms: bool = False, min_items: int | None = None
) -> list[T]:
    """[work(part) for each part of range(n)] (see ``parts``), the parts at the same time;
    returns when all are done and raises the first part's exception, if any.

    ``gemms``: the parts multiply matrices; while several run, the BLAS gets one thread each
    (a GEMM on half the batch per core beats both cores on each GEMM in turn).
    """
    slices = parts(n, items_each, min_items)
    if len(slices) == 1:
        return [work(slices[0])]
    with blas.one_thread() if gemms else contextlib.nullcontext():
        pool = _executor(len(slices) - 1)
        futures = [pool.submit(contextvars.copy_context().run, _as_part, work, part) for part in slices[1:]]
        try:
            first = _as_part(work, slices[0])
        finally:
            concurrent.futures.wait(futures)  # every part ends before leaving, even on an error
    return [first] + [future.result() for future in futures]


def _as_part(work: Callable[[slice], T], part: slice) -> T:
    before, _inside.active = _inside.active, True
    try:
        return work(part)
    finally:
        _inside.active = before
