"""Elementwise math functions (tanh, …) split over bprop's threads when large: NumPy's float32
tanh costs ~4 ns an element on one core, so a few million elements are worth two cores.
The result is the same bits whatever the split (each element is computed alone)."""

from __future__ import annotations

import numpy as np

from bprop.ops.kernels.layout import flat_in_memory_order
from bprop.runtime import pool

# An activation usually runs right after a GEMM, whose OpenBLAS threads still spin on the other
# cores, so a part competes for its core as well as paying its hand-off. Measured right after a
# GEMM (tanh, float32, 2 cores, median of 20): 0.3 M elements 1.99 ms split, 1.67 whole (LeNet-5's
# first activation; its training step 16.5 instead of 18.1 ms whole); 1 M 4.2 / 4.5; 4 M
# 12.7 / 18.4. So each part takes at least 0.5 M elements.
UNARY_MIN_ITEMS = 1 << 19


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
