"""Scratch memory the kernels reuse from call to call (the im2col chunks).

A fresh multi-MB buffer per call costs page faults at every step (and malloc hands large blocks
back to the kernel unless tune() said otherwise), so each thread keeps one flat array per slot and dtype,
grown to the largest request seen. One per thread because pool.for_parts runs kernels on
several threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class _Workspace(threading.local):
    def __init__(self) -> None:
        self.arrays: dict[tuple[str, np.dtype], np.ndarray] = {}


_workspace = _Workspace()


def scratch(shape: tuple[int, ...], dtype: Any, slot: str = "cols") -> np.ndarray:
    """A C-contiguous array of ``shape`` with undefined contents, this thread's, valid until the
    thread's next call for the same ``slot`` (callers use it and are done before asking again;
    a kernel that needs two buffers at once names them by two slots)."""
    size = 1
    for d in shape:
        size *= d
    key = (slot, np.dtype(dtype))
    flat = _workspace.arrays.get(key)
    if flat is None or flat.size < size:
        flat = _workspace.arrays[key] = np.empty(size, key[1])
    return flat[:size].reshape(shape)


def release() -> None:
    """Drop this thread's scratch arrays (their memory goes back to the allocator): the next
    kernel call allocates afresh. What a measurement of memory starts from, so that it does
    not depend on the shapes earlier calls in the process happened to need."""
    _workspace.arrays.clear()
