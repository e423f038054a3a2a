"""Scratch memory the kernels reuse from call to call (the im2col chunks).

A fresh multi-MB buffer per call costs page faults at every step (and malloc hands large blocks
back to the kernel unless tune() said otherwise), so each thread keeps one flat array per dtype,
grown to the largest request seen. One per thread because pool.for_parts runs kernels on
several threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class _Workspace(threading.local):
    def __init__(self) -> None:
        self.arrays: dict[np.dtype, np.ndarray] = {}


_workspace = _Workspace()


def scratch(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A C-contiguous array of ``shape`` with undefined contents, this thread's, valid until the
    thread's next call (callers use it and are done before asking again)."""
    size = 1
    for d in shape:
        size *= d
    key = np.dtype(dtype)
    flat = _workspace.arrays.get(key)
    if flat is None or flat.size < size:
        flat = _workspace.arrays[key] = np.empty(size, key)
    return flat[:size].reshape(shape)
