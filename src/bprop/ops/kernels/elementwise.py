"""Elementwise math functions (tanh, …) split over bprop's threads when large: NumPy's float32
tanh costs ~4 ns an element on one core, so a LeNet-5 activation of 0.3 M elements is worth two.
The result is the same bits whatever the split (each element is computed alone)."""

from __future__ import annotations

import numpy as np

from bprop.ops.kernels.layout import flat_in_memory_order
from bprop.runtime import pool

# a transcendental costs ~10× a max per element, so a part pays for its hand-off from 64 k elements
UNARY_MIN_ITEMS = 1 << 16


def unary(ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
    """ufunc(x) in x's memory layout, the elements split over bprop's threads when there are
    enough of them; small or strided inputs are one NumPy call."""
    if x.size < 2 * UNARY_MIN_ITEMS or x.dtype.kind != "f":
        return ufunc(x)
    out = np.empty_like(x)  # x's layout, so both flatten in memory order
    flats = flat_in_memory_order(x, out)
    if flats is None:
        return ufunc(x)
    flat_x, flat_out = flats
    pool.for_parts(lambda part: ufunc(flat_x[part], out=flat_out[part]), x.size, min_items=UNARY_MIN_ITEMS)
    return out
