"""Memory layouts: seeing arrays flat in memory order."""

from __future__ import annotations

import numpy as np


def flat_in_memory_order(*arrays: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """1-D views of arrays that are all one contiguous block laid out in the same order (a C
    array, or an NCHW view of an NHWC buffer), so that element i of each view is the same
    logical element; None when any is not (then the caller works on the arrays as they are)."""
    first = arrays[0]
    for a in arrays:
        if not a.flags.c_contiguous or a.shape != first.shape:
            break
    else:  # the common case, checked first: ~1 µs instead of ~4
        return tuple([a.reshape(-1) for a in arrays])
    order = np.argsort(first.strides, kind="stable")[::-1]
    flats = []
    for array in arrays:
        if array.shape != first.shape or not array.transpose(order).flags.c_contiguous:
            return None
        flats.append(array.transpose(order).reshape(-1))
    return tuple(flats)
