"""How many threads the BLAS (NumPy's matrix products) may use while a run trains.

Small nets (the digits ones multiply 64×256 matrices) train fastest on one thread, and many times
faster than with idle threads spin-waiting when other processes share the cores (30 s instead of
2 s was measured). threadpoolctl sets the count for any BLAS when it is installed; without it
(``make train`` installs NumPy and tqdm only) NumPy's own OpenBLAS is asked directly through its
exported ``*_set_num_threads`` functions, found among the libraries this process has loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Iterator

# the setter and getter names of OpenBLAS builds: NumPy 2's wheels (scipy-openblas), then plain ones
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def _numpy_openblas() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:  # type: ignore[name-defined]
    """(set, get) of the OpenBLAS NumPy loaded, or None (not Linux, not OpenBLAS)."""
    import numpy  # noqa: F401  (so that its BLAS is loaded)

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for setter, getter in _OPENBLAS_SYMBOLS:
            if hasattr(library, setter) and hasattr(library, getter):
                return getattr(library, setter), getattr(library, getter)
    return None


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[bool]:
    """Limit the BLAS to ``threads`` while inside; yields whether it could (None: no limit)."""
    if threads is None:
        yield True
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        openblas = _numpy_openblas()
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
