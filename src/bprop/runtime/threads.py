"""How many threads bprop uses: one number, chosen by the user or from the start-up defaults,
never from the machine's load.

The default is the user's OMP_NUM_THREADS or OPENBLAS_NUM_THREADS when set (what NumPy's BLAS
itself uses), else the cores this process may run on. ``set_num_threads(n)`` changes it, as
``torch.set_num_threads`` does, and sets the BLAS to the same count. bprop's own parallel work
(pool.py) splits into parts by this number and the shapes alone, so that a given thread count
gives the same bits on an idle machine and a busy one.

``auto_threads()`` is ``bprop train --threads auto``: the cores that other processes leave free,
looked at once, when a run starts; the run records that count and keeps it.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from bprop.runtime import blas

_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_chosen: int | None = None  # set_num_threads's count; None: the default


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), not all the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def env_threads() -> int | None:
    """The thread count the user gave through OMP_NUM_THREADS or OPENBLAS_NUM_THREADS, if any."""
    for var in _ENV:
        try:
            return max(1, int(os.environ.get(var, "").split(",")[0]))
        except ValueError:
            continue
    return None


def get_num_threads() -> int:
    """The threads bprop's parallel work uses (as ``torch.get_num_threads``)."""
    if _chosen is not None:
        return _chosen
    return env_threads() or usable_cores()


def set_num_threads(threads: int) -> None:
    """Use ``threads`` threads for bprop's own parallel work and for the BLAS (NumPy's
    OpenBLAS, found in the process), as ``torch.set_num_threads``."""
    global _chosen
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {threads!r}")
    _chosen = threads
    blas.set_num_threads(threads)


@contextlib.contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """set_num_threads(threads) while inside; then bprop's and the BLAS's counts as they were."""
    global _chosen
    before_ours, before_blas = _chosen, blas.get_num_threads()
    set_num_threads(threads)
    try:
        yield
    finally:
        _chosen = before_ours
        if before_blas is not None:
            blas.set_num_threads(before_blas)


def resolve(requested: int | str | None) -> int:
    """The count a run's ``--threads`` asks for: a number, "auto" (auto_threads(), now), or None
    (get_num_threads())."""
    if requested == "auto":
        return auto_threads()
    if requested is None:
        return get_num_threads()
    return int(requested)


def _running_threads() -> int | None:
    """Runnable threads on the machine now (/proc/loadavg's fourth field), or None."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def auto_threads() -> int:
    """A thread count for a run about to start: the usable cores minus those other processes'
    runnable threads take now (this thread counted as ours), at least one. Read once, at the
    start of a run; the run keeps it (its checkpoints record it)."""
    cores, running = usable_cores(), _running_threads()
    if running is None:
        return cores
    return max(1, min(cores, cores - (running - 1)))
