"""Memory layouts: NCHW and channels-last (NHWC) views and copies, padding, and arrays seen flat
in memory order."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from bprop.runtime import pool


def strided_view(x: np.ndarray, shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """A read-only view of x's memory with the given shape and strides (in bytes), as
    ``as_strided`` makes; over a C-contiguous x built by np.ndarray on x's buffer, 2 µs instead
    of 10 (a batch-1 CNN makes several per step)."""
    if not x.flags.c_contiguous:
        return as_strided(x, shape, strides, writeable=False)
    view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
    view.flags.writeable = False
    return view


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
    # axes from the largest stride to the smallest (np.argsort's order, stable, reversed); sorted
    # in Python: np.argsort costs more than the whole loop below for a 4-D array
    strides = first.strides
    order = sorted(range(first.ndim), key=strides.__getitem__)[::-1]
    flats = []
    for array in arrays:
        if array.shape != first.shape or not array.transpose(order).flags.c_contiguous:
            return None
        flats.append(array.transpose(order).reshape(-1))
    return tuple(flats)


def to_nhwc_padded(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """(N, C, H, W) → padded (N, H + 2a, W + 2b, C); a view when there is no padding."""
    nhwc = x.transpose(0, 2, 3, 1)
    a, b = padding
    if a == 0 and b == 0:
        return nhwc
    out = np.full((x.shape[0], x.shape[2] + 2 * a, x.shape[3] + 2 * b, x.shape[1]), value, dtype=x.dtype)
    out[:, a : a + x.shape[2], b : b + x.shape[3], :] = nhwc
    return out


def channels_last(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → a contiguous (N, H, W, C) array: free when ``a`` is an NCHW view of an NHWC
    buffer (our conv and pool outputs), else a copy spread over bprop's threads."""
    nhwc = a.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous:
        return nhwc
    out = np.empty(nhwc.shape, a.dtype)

    def copy(part: slice) -> None:
        np.copyto(out[part], nhwc[part])

    pool.for_parts(copy, a.shape[0], items_each=math.prod(out.shape[1:]))
    return out


def unpad_to_nchw(xp: np.ndarray, padding: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    a, b = padding
    return xp[:, a : a + hw[0], b : b + hw[1], :].transpose(0, 3, 1, 2)


def pad_nchw(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """x zero-padded by (a, b) in its own (N, C, H, W) layout; x itself without padding."""
    a, b = padding
    if a == 0 and b == 0:
        return x
    out = np.zeros((*x.shape[:2], x.shape[2] + 2 * a, x.shape[3] + 2 * b), x.dtype)
    out[:, :, a : a + x.shape[2], b : b + x.shape[3]] = x
    return out
