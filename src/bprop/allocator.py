"""Freed array memory stays in the process, so that the next training step reuses it.

A training step allocates and frees the same large arrays (activations, gradients, masks,
im2col chunks) at every step. By default glibc's malloc serves large requests with fresh
pages from the kernel (mmap) and gives freed heap memory back (trim), so every step
page-faults its whole working set anew, and a page fault costs more than the arithmetic on
that page: ``g * (a > 0)`` on 2M floats takes 8 ms with fresh memory and 3 ms with reused
memory on the benchmark machine, and a CNN step 20–40% longer (benchmarks/speed.py).

Raising malloc's mmap and trim thresholds keeps freed blocks in the heap for the next
allocation of that size: the CPU counterpart of a GPU caching allocator, at the price of a
resident set that stays at the step's peak between steps (it does not raise the peak). Applied
once when bprop is imported, on glibc; elsewhere nothing happens. ``BPROP_KEEP_FREED_MEMORY=0``
in the environment leaves malloc as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

MMAP_THRESHOLD = 256 * 2**20  # blocks up to this size come from the heap, where they are reused
TRIM_THRESHOLD = 512 * 2**20  # free memory at the heap's top kept before any goes back to the OS
TOP_PAD = 16 * 2**20  # extra heap obtained per growth, so the heap grows in few steps


def keep_freed_memory() -> bool:
    """Set malloc's thresholds as above; True if they were set (glibc), False otherwise."""
    if os.environ.get("BPROP_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, …)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all(mallopt(param, value) == 1 for param, value in settings)
