"""The memory policy of tune(): freed array memory stays in the process, so that the next
training step reuses it.

A training step allocates and frees the same large arrays (activations, gradients, masks) at
every step. By default glibc's malloc serves large requests with fresh pages from the kernel
(mmap) and gives freed heap memory back (trim), so every step page-faults its whole working set
anew, and a page fault costs more than the arithmetic on that page: ``g * (a > 0)`` on 2M floats
took 8 ms with fresh memory and 3 ms with reused memory on the benchmark machine, and a CNN step
20–40% longer.

Raising malloc's mmap and trim thresholds keeps freed blocks in the heap for the next allocation
of that size: the CPU counterpart of a GPU caching allocator, at the price of a resident set that
stays at the step's peak between steps (it does not raise the peak). This is process state, so
bprop sets it only when asked (``bprop.runtime.tune()``); ``restore_malloc`` sets glibc's
defaults back. glibc has no call that reads these settings, so what is restored is glibc's
documented defaults, not whatever another library may have set before; and glibc's adjustment of
the mmap threshold to the sizes a program frees stays off once a threshold was set by hand.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

MMAP_THRESHOLD = 256 * 2**20  # blocks up to this size come from the heap, where they are reused
TRIM_THRESHOLD = 512 * 2**20  # free memory at the heap's top kept before any goes back to the OS
TOP_PAD = 16 * 2**20  # extra heap obtained per growth, so the heap grows in few steps
# glibc's defaults (mallopt(3)): 128 KiB for both thresholds, and no top padding beyond one page
DEFAULTS = ((_M_MMAP_THRESHOLD, 128 * 2**10), (_M_TRIM_THRESHOLD, 128 * 2**10), (_M_TOP_PAD, 128 * 2**10))


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):  # not glibc (musl, …)
        return None
    libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return libc


def keep_freed_memory() -> bool:
    """Set malloc's thresholds as above; True if they were set (glibc), False otherwise."""
    libc = _glibc()
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return libc is not None and all(libc.mallopt(param, value) == 1 for param, value in settings)


def restore_malloc() -> bool:
    """glibc's default thresholds again, and the memory kept meanwhile given back to the system
    (malloc_trim; otherwise the next large arrays would still be served from it); True if set."""
    libc = _glibc()
    if libc is None or not all(libc.mallopt(param, value) == 1 for param, value in DEFAULTS):
        return False
    libc.malloc_trim(0)
    return True
