"""allocator: freed arrays stay in the heap (glibc), and the switch that leaves malloc alone."""

import ctypes
import sys

import numpy as np
import pytest

from bprop import allocator


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def mallinfo2():
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc ≥ 2.33 (mallinfo2)")
    fn.restype = MallInfo2
    return fn()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_a_freed_large_array_stays_in_the_heap_for_the_next_one():
    assert allocator.keep_freed_memory()
    size = 32 * 2**20
    array = np.ones(size, np.uint8)  # above glibc's default mmap threshold: would be mmap'd
    before = mallinfo2()
    del array
    after = mallinfo2()
    assert before.hblkhd < size, "the array was mmap'd instead of taken from the heap"
    assert after.fordblks >= before.fordblks + size - 2**20, "its memory was given back to the OS"


def test_the_environment_can_leave_malloc_alone(monkeypatch):
    monkeypatch.setenv("BPROP_KEEP_FREED_MEMORY", "0")
    assert allocator.keep_freed_memory() is False
