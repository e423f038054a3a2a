"""Elementwise and per-sample work spread over the free cores.

NumPy runs a ufunc on one core, while torch spreads its elementwise kernels (ReLU, pooling) over
all of them. NumPy releases the GIL inside a ufunc's loop and a copy, so Python threads that each
run the same ufunc on a part of the data do use several cores: max(x, 0) over 4 M float32 took
2.3 ms on one thread and 1.3 ms on two on the benchmark machine (memory bandwidth keeps it from
2×). Handing a part to a thread costs about 0.1 ms, so work under MIN_ITEMS elements stays whole,
and work that fits in the caches gains nothing: an SGD step's four passes over a 0.4 M-weight
layer ran 2× slower split in two, so the optimizers do not split.

How many threads: ops.blas.workers(), the BLAS's own decision (all cores while other processes
leave them free, one while they don't, the user's count when they chose one). Each part runs in
a copy of the caller's context, so ``np.errstate`` (a context variable) holds in the workers too.
Parts must write disjoint memory; the first part runs in the calling thread; work started inside
a part is not split again.
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

import numpy as np

from bprop.ops import blas

MIN_ITEMS = 1 << 18  # elements of work per part below which a hand-off costs more than it saves


def worth_splitting(items: int) -> bool:
    """Whether work of this many elements could be split at all (callers of small work skip the
    bookkeeping: a few µs count on a 64×512 ReLU)."""
    return items >= 2 * MIN_ITEMS


T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max(1, blas.usable_cores() - 1), thread_name_prefix="bprop-part")
    return _pool


def _forget_pool_in_child() -> None:
    """A forked child has none of the parent's threads, but would wait on their queue forever."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


class _Inside(threading.local):
    active = False  # this thread runs a part: work it starts stays whole (no nested hand-offs)


_inside = _Inside()


def parts(n: int, items_each: int, min_items: int | None = None) -> list[slice]:
    """range(n) as contiguous slices, one per worker, none with under ``min_items`` (default
    MIN_ITEMS) elements of work (``items_each``: the elements one index stands for, e.g. one
    sample's)."""
    count = min(n, n * items_each // (min_items or MIN_ITEMS))
    if count < 2 or _inside.active:  # the common small case returns before asking for workers
        return [slice(0, n)]
    count = min(count, blas.workers())
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def for_parts(
    work: Callable[[slice], T], n: int, items_each: int = 1, gemms: bool = False, min_items: int | None = None
) -> list[T]:
    """[work(part) for each part of range(n)] (see ``parts``), the parts at the same time;
    returns when all are done and raises the first part's exception, if any.

    ``gemms``: the parts multiply matrices; while several run, the BLAS gets one thread each
    (a GEMM on half the batch per core beats both cores on each GEMM in turn, and OpenBLAS's
    own threads would compete with the parts for the same cores).
    """
    slices = parts(n, items_each, min_items)
    if len(slices) == 1:
        return [work(slices[0])]
    with blas.limited(1) if gemms else contextlib.nullcontext():
        pool = _executor()
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


def flat_in_memory_order(*arrays: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """1-D views of arrays that are all one contiguous block laid out in the same order (a C
    array, or an NCHW view of an NHWC buffer), so that element i of each view is the same
    logical element; None when any is not (then the caller works on the arrays as they are)."""
    first = arrays[0]
    for a in arrays:
        if not a.flags.c_contiguous or a.shape != first.shape:
            break
    else:  # the common case, checked first: ~1 µs instead of ~4
        return tuple([a.reshape(-1) for a in arrays])
    order = np.argsort(first.strides, kind="stable")[::-1]
    flats = []
    for array in arrays:
        if array.shape != first.shape or not array.transpose(order).flags.c_contiguous:
            return None
        flats.append(array.transpose(order).reshape(-1))
    return tuple(flats)
