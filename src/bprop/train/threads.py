"""How many threads the BLAS (NumPy's matrix products) may use while a run trains.

Small nets (the digits ones multiply 64×256 matrices) train fastest on one thread, and many times
faster than with idle threads spin-waiting when other processes share the cores (30 s instead of
2 s was measured). threadpoolctl sets the count for any BLAS when it is installed; without it
(``make train`` installs NumPy and tqdm only) NumPy's own OpenBLAS is asked directly through its
exported ``*_set_num_threads`` functions (ops.blas.find_openblas). While the count is held,
ops.blas's adaptation to the machine's load leaves it alone.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from bprop.ops import blas


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[bool]:
    """Limit the BLAS to ``threads`` while inside; yields whether it could (None: no limit)."""
    if threads is None:
        yield True
        return
    with blas.held(threads):  # ops.blas's adaptation to the load must not undo the user's count
        with _blas_limited(threads) as limited:
            yield limited


@contextlib.contextmanager
def _blas_limited(threads: int) -> Iterator[bool]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        openblas = blas.find_openblas()
        if openblas is None:
            yield False
            return
        set_threads, get_threads = openblas
        before = get_threads()
        set_threads(threads)
        try:
            yield True
        finally:
            set_threads(before)
        return
    with threadpool_limits(threads, user_api="blas"):
        yield True
