"""BLAS threads follow the free cores.

OpenBLAS splits each large GEMM over all cores and its threads wait for one another at the end
of every call. On a machine whose cores other processes also use, one of them is often
descheduled, and the call waits a whole time slice for it: measured on this project's 2-core
benchmark machine under a load of 4, a CNN training step took 250–840 ms with two BLAS threads
and 45–54 ms with one. With the cores free, two threads make a large GEMM ~1.8× faster.

So before each large GEMM the GEMM ops call ``adapt()``. At most every SAMPLE_SECONDS it reads
how many threads the kernel has running (/proc/loadavg), subtracts this process's own running
threads (/proc/self/task), and keeps a moving average of the others: OpenBLAS gets every core while that average stays
below one half of a core, and one thread otherwise (with some hysteresis). Nothing changes when
the user chose a thread count (OMP_NUM_THREADS or OPENBLAS_NUM_THREADS set, or
``BPROP_ADAPT_BLAS_THREADS=0``), while a run holds a count (``held(n)``: ``bprop train
--threads``), when the BLAS is not OpenBLAS or the system has no /proc/loadavg: then the BLAS
keeps that setting.

``workers()`` is the same decision for bprop's own threads (ops/parallel.py splits elementwise
and per-sample work): as many as the BLAS may use now.

Those threads must not meet OpenBLAS's idle ones: after each GEMM they spin, waiting for more
work, for 2**28 cycles (~0.1 s) before they sleep, on the very cores our pooling and ReLU parts
then need. That made a CIFAR-shape CNN step 1.4× slower with the parts than without; with the
wait shortened to 2**22 cycles (``shorten_spin_wait``, once, at the first GEMM op) the step took
70 ms instead of the 103 it took without the parts (medians with the parts: 126 ms at 2**28,
87 at 2**26, 73 at 2**24, 72 at 2**22). 2**4 made the MLP's step 40% slower: its GEMMs follow
each other closely, and waking sleeping threads costs. The user's OPENBLAS_THREAD_TIMEOUT, or
BPROP_ADAPT_BLAS_THREADS=0, keeps OpenBLAS's own wait.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from typing import Callable, Iterator

SAMPLE_SECONDS = 0.1  # how often the run queue is read (a read costs ~0.1-0.3 ms)
SMOOTHING = 0.2  # weight of a new sample in the moving average (~0.5 s of memory)
BUSY_ABOVE, FREE_BELOW = 0.7, 0.3  # other runnable threads: one BLAS thread above, all cores below
SPIN_EXPONENT = 22  # OpenBLAS's idle threads wait 2**22 cycles (~1.5 ms) for work, then sleep


class _State:
    def __init__(self) -> None:
        self.checked = False  # whether OpenBLAS was looked for
        self.adaptive = True  # whether adapt() may change the count (not when the user chose it)
        self.set_threads: Callable[[int], None] | None = None
        self.cores = usable_cores()
        self.threads = 0  # what we last set (0: not yet)
        self.held: int | None = None  # a count the user chose for a run (held(n)); adapt() leaves it
        self.others = 0.0  # moving average of other runnable threads
        self.last_sample = 0.0


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), not all the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_state = _State()


def _user_chose() -> bool:
    return any(os.environ.get(var) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")) or (
        os.environ.get("BPROP_ADAPT_BLAS_THREADS") == "0"
    )


def find_openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """OpenBLAS's set/get_num_threads from the copy loaded in this process (NumPy's), or None."""
    found = _openblas_library()
    return None if found is None else found[1:]


def _openblas_library() -> tuple[ctypes.CDLL, Callable[[int], None], Callable[[], int]] | None:
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas{}64_", "scipy_openblas{}", "openblas{}64_", "openblas{}"):
            setter = getattr(lib, name.format("_set_num_threads"), None)
            getter = getattr(lib, name.format("_get_num_threads"), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype, getter.restype = (ctypes.c_int,), None, ctypes.c_int
                return lib, setter, getter
    return None


def shorten_spin_wait(lib: ctypes.CDLL, exponent: int = SPIN_EXPONENT) -> bool:
    """Have OpenBLAS's idle threads sleep after 2**exponent cycles of waiting for work instead
    of its default 2**28 (~0.1 s); returns whether it could.

    OpenBLAS reads OPENBLAS_THREAD_TIMEOUT only when it starts its threads, so the variable is
    set for a moment, read again (openblas_read_env) and the threads are stopped
    (blas_thread_shutdown_); the next GEMM starts them anew with the new wait. Left alone when
    the user set the variable, or the library lacks these functions (not OpenBLAS 0.3).
    Stopping the threads must not race another thread's GEMM: it runs once, at the first GEMM op.
    """
    names = ("openblas_read_env", "blas_thread_shutdown_", "openblas_thread_timeout")
    if os.environ.get("OPENBLAS_THREAD_TIMEOUT") or not all(hasattr(lib, name) for name in names):
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
    try:
        lib.openblas_read_env()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]  # not inherited by child processes
    lib.blas_thread_shutdown_()
    lib.openblas_thread_timeout.restype = ctypes.c_uint
    return lib.openblas_thread_timeout() == exponent


def threads_for(others: float, cores: int, current: int) -> int:
    """The BLAS thread count for an average of ``others`` runnable threads of other processes."""
    if others > BUSY_ABOVE:
        return 1
    if others < FREE_BELOW:
        return cores
    return current


def _running_threads() -> int | None:
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _own_running() -> int:
    """This process's threads in state R (running or runnable), itself included."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        count += stat[stat.rindex(")") + 2] == "R"
    return count


def _look_up(state: _State) -> None:
    """Find OpenBLAS once: its setter and current count (also when the user chose the count:
    ``limited`` still needs to set it), and whether adapt() may change the count."""
    if state.checked:
        return
    state.checked = True
    found = _openblas_library() if state.cores > 1 else None
    if found is not None:
        lib, state.set_threads, getter = found
        state.threads = getter()
        if os.environ.get("BPROP_ADAPT_BLAS_THREADS") != "0":
            shorten_spin_wait(lib)
    state.adaptive = found is not None and not _user_chose()


def adapt() -> None:
    """Called before large GEMMs; cheap (one clock read) between samples."""
    state = _state
    if state.held is not None:
        return
    now = time.monotonic()
    if now - state.last_sample < SAMPLE_SECONDS:
        return
    state.last_sample = now
    _look_up(state)
    if not state.adaptive or state.set_threads is None:
        return
    running = _running_threads()
    if running is None:
        state.adaptive = False
        return
    sample = max(0, running - _own_running())  # ours: this thread, BLAS workers still spinning
    state.others += SMOOTHING * (sample - state.others)
    wanted = threads_for(state.others, state.cores, state.threads)
    if wanted != state.threads:
        state.set_threads(wanted)
        state.threads = wanted


def _env_threads() -> int | None:
    """The thread count the user gave the BLAS through the environment, if any."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            return max(1, int(os.environ.get(var, "").split(",")[0]))
        except ValueError:
            continue
    return None


def workers() -> int:
    """How many threads bprop's own parallel work may use now: the count a run holds, else the
    user's from the environment, else the BLAS's (what adapt() last chose: all cores while they
    are free, one while other processes use them). One when the BLAS is unknown (not OpenBLAS,
    or no GEMM op ran yet)."""
    state = _state
    if state.held is not None:
        return state.held
    chosen = _env_threads()
    if chosen is not None:
        return min(chosen, state.cores)
    return max(1, state.threads) if state.set_threads is not None else 1


@contextlib.contextmanager
def held(threads: int) -> Iterator[None]:
    """Keep adapt() from changing the BLAS threads while inside, and let workers() return
    ``threads``: a run's ``--threads`` (train/threads.py sets the BLAS count itself)."""
    state, before = _state, _state.held
    state.held = max(1, int(threads))
    try:
        yield
    finally:
        state.held = before


@contextlib.contextmanager
def limited(threads: int) -> Iterator[None]:
    """The BLAS on at most ``threads`` threads while inside (ops/parallel.py's parts that each
    multiply matrices on their own core), then back to the count it had. Nothing happens when
    the BLAS's threads cannot be set."""
    state = _state
    _look_up(state)
    current = state.held or state.threads
    if state.set_threads is None or current <= threads:
        yield
        return
    state.set_threads(threads)
    try:
        yield
    finally:
        state.set_threads(current)
