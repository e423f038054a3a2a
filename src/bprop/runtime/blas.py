"""NumPy's OpenBLAS, through its public functions only: its thread count, its idle threads'
spin wait (read, and changed by tune() alone), and two level-1 kernels NumPy does not expose,
axpy and axpby (y ← αx + βy in one pass over memory, where NumPy needs two or three).

The library is the copy NumPy loaded (found in /proc/self/maps); with another BLAS, or none
found, every function here does nothing and says so (None / False).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from typing import Iterator

import numpy as np


class OpenBLAS:
    """The functions of one loaded OpenBLAS library that bprop uses."""

    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str) -> None:
        self.lib = lib
        self._set = getattr(lib, f"{prefix}_set_num_threads{suffix}")
        self._get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
        self._set.argtypes, self._set.restype, self._get.restype = (ctypes.c_int,), None, ctypes.c_int
        self.axpby_of = {}  # dtype char -> cblas_?axpby(n, α, x, incx, β, y, incy), where found
        integer = ctypes.c_int64 if suffix == "64_" else ctypes.c_int
        cblas = prefix.removesuffix("openblas") + "cblas"
        for char, scalar in (("f", ctypes.c_float), ("d", ctypes.c_double)):
            fn = getattr(lib, f"{cblas}_{'s' if char == 'f' else 'd'}axpby{suffix}", None)
            if fn is not None:
                fn.argtypes = (integer, scalar, ctypes.c_void_p, integer, scalar, ctypes.c_void_p, integer)
                fn.restype = None
                self.axpby_of[char] = fn

    def get_num_threads(self) -> int:
        return int(self._get())

    def set_num_threads(self, threads: int) -> None:
        self._set(int(threads))

    def spin_timeout(self) -> int | None:
        """OPENBLAS_THREAD_TIMEOUT as OpenBLAS read it (0: its default, 2**28 cycles), or None
        when this OpenBLAS does not say."""
        getter = getattr(self.lib, "openblas_thread_timeout", None)
        if getter is None:
            return None
        getter.restype = ctypes.c_uint
        return int(getter())

    def set_spin_timeout(self, exponent: int) -> bool:
        """Have idle threads sleep after 2**exponent cycles of waiting for work (0: OpenBLAS's
        default, 2**28). OpenBLAS reads OPENBLAS_THREAD_TIMEOUT only when it starts its threads,
        so the variable is set for a moment, read again (openblas_read_env) and the threads are
        stopped (blas_thread_shutdown_); the next GEMM starts them with the new wait. It must not
        race another thread's GEMM: only tune()/untune() call it. Returns whether it could."""
        names = ("openblas_read_env", "blas_thread_shutdown_", "openblas_thread_timeout")
        if not all(hasattr(self.lib, name) for name in names):
            return False
        before = os.environ.pop("OPENBLAS_THREAD_TIMEOUT", None)
        if exponent:
            os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
        try:
            self.lib.openblas_read_env()
        finally:  # the environment as it was: children inherit nothing of this
            os.environ.pop("OPENBLAS_THREAD_TIMEOUT", None)
            if before is not None:
                os.environ["OPENBLAS_THREAD_TIMEOUT"] = before
        self.lib.blas_thread_shutdown_()
        return self.spin_timeout() == exponent


# how OpenBLAS builds name their functions: scipy_openblas_set_num_threads64_ (NumPy's wheels), …
_NAMES = (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"), ("openblas", ""))


@functools.cache
def openblas() -> OpenBLAS | None:
    """NumPy's OpenBLAS, or None (another BLAS, or no /proc/self/maps)."""
    import numpy  # noqa: F401  (loads the BLAS this looks for)

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
        for prefix, suffix in _NAMES:
            if hasattr(lib, f"{prefix}_set_num_threads{suffix}") and hasattr(lib, f"{prefix}_get_num_threads{suffix}"):
                return OpenBLAS(lib, prefix, suffix)
    return None


def get_num_threads() -> int | None:
    """The BLAS's thread count, or None when it is not an OpenBLAS found here."""
    lib = openblas()
    return None if lib is None else lib.get_num_threads()


def set_num_threads(threads: int) -> bool:
    """Set the BLAS's thread count; whether it could."""
    lib = openblas()
    if lib is None:
        return False
    lib.set_num_threads(threads)
    return True


# Below this many elements NumPy's own in-place ops cost less than a call through ctypes.
AXPBY_MIN_SIZE = 4096


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """y ← αx + βy in place, in one pass (BLAS axpby), when x and y are contiguous arrays of
    one float dtype and size; returns False, having done nothing, otherwise (or without an
    OpenBLAS), and the caller uses NumPy."""
    if y.size < AXPBY_MIN_SIZE or x.dtype != y.dtype or x.size != y.size:
        return False
    lib = openblas()
    fn = None if lib is None else lib.axpby_of.get(y.dtype.char)
    if fn is None or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable):
        return False
    fn(y.size, float(alpha), x.ctypes.data, 1, float(beta), y.ctypes.data, 1)
    return True


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The BLAS on one thread while inside, then on the count it had: for parts of the work
    that each multiply matrices on their own core (pool.for_parts(gemms=True)); two parts' GEMMs
    on a two-thread BLAS would queue for OpenBLAS's lock and fight for the cores. Nothing
    happens when the BLAS is already on one thread or is not OpenBLAS."""
    lib = openblas()
    before = lib.get_num_threads() if lib is not None else 1
    if before <= 1:
        yield
        return
    lib.set_num_threads(1)
    try:
        yield
    finally:
        lib.set_num_threads(before)
