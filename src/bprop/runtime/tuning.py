"""tune(): the process settings that make training steps faster, applied only when asked and
undone by untune().

- malloc keeps freed memory (memory.py): a CNN step 20–40% faster on the benchmark machine.
- OpenBLAS's idle threads wait 2**SPIN_EXPONENT cycles (~1.5 ms) for more work before they sleep,
  instead of 2**28 (~0.1 s): while they spin they hold the cores that bprop's own parallel parts
  (ReLU, pooling, the convolutions' gathers) need next. Left alone when the user set
  OPENBLAS_THREAD_TIMEOUT. Changing it restarts OpenBLAS's threads, which must not happen while
  another thread runs a GEMM: call tune() before training starts, as ``bprop train`` does.

bprop's results do not depend on either (the same bits tuned or not); only the time does.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator

from bprop.runtime import blas, memory

SPIN_EXPONENT = 22


@dataclass
class Tuning:
    """What tune() changed: ``malloc`` (thresholds set) and ``blas_spin`` (OpenBLAS's timeout
    before it, 0 for its default; None when left alone)."""

    malloc: bool = False
    blas_spin: int | None = None


_active: Tuning | None = None


def tune(malloc: bool = True, blas_spin: bool = True) -> Tuning:
    """Apply the settings above (those asked for) and return what changed; a second call while
    tuned changes nothing more. Undo with untune()."""
    global _active
    if _active is not None:
        return _active
    done = Tuning()
    if malloc:
        done.malloc = memory.keep_freed_memory()
    lib = blas.openblas()
    if blas_spin and lib is not None and not os.environ.get("OPENBLAS_THREAD_TIMEOUT"):
        before = lib.spin_timeout()
        if before is not None and before != SPIN_EXPONENT and lib.set_spin_timeout(SPIN_EXPONENT):
            done.blas_spin = before
    _active = done
    return done


def untune() -> None:
    """Undo tune(): glibc's default malloc thresholds, OpenBLAS's spin wait as it was."""
    global _active
    if _active is None:
        return
    if _active.malloc:
        memory.restore_malloc()
    lib = blas.openblas()
    if _active.blas_spin is not None and lib is not None:
        lib.set_spin_timeout(_active.blas_spin)
    _active = None


@contextlib.contextmanager
def tuned(malloc: bool = True, blas_spin: bool = True) -> Iterator[Tuning]:
    """tune() while inside, untune() after (unless the process was already tuned)."""
    already = _active is not None
    done = tune(malloc, blas_spin)
    try:
        yield done
    finally:
        if not already:
            untune()
