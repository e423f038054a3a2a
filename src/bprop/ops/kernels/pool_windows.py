"""Pooling's kernels: the padded channels-last input, the R·S strided window offsets, the
running reductions over them and the routing of δ to each window's argmax, split over the
batch on bprop's threads. ops/pooling.py holds the math and the geometry (PoolGeometry)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.runtime import pool

if TYPE_CHECKING:
    from bprop.ops.pooling import PoolGeometry


def padded_nhwc(x: np.ndarray, geo: PoolGeometry, value: float) -> np.ndarray:
    """(N, C, H, W) → (N, H + 2a + e₁, W + 2b + e₂, C) filled with ``value`` around x; a view
    when there is no padding."""
    if geo.padding == (0, 0) and geo.extra == (0, 0):
        return x.transpose(0, 2, 3, 1)
    (a, b), (h, w) = geo.padding, x.shape[2:]
    out = np.full((x.shape[0], *geo.padded_hw(x.shape[2:]), x.shape[1]), value, dtype=x.dtype)
    out[:, a : a + h, b : b + w, :] = x.transpose(0, 2, 3, 1)
    return out


def unpad_nchw(gxp: np.ndarray, geo: PoolGeometry, hw: tuple[int, ...]) -> np.ndarray:
    (a, b) = geo.padding
    return gxp[:, a : a + hw[0], b : b + hw[1], :].transpose(0, 3, 1, 2)


def offset_slices(geo: PoolGeometry):
    """For each kernel offset (k, r, s): the (N, P, Q, C) slice of a padded NHWC image that
    holds pixel (p·u + r·d₁, q·v + s·d₂) of every window. Pooling loops over these R·S offsets."""
    (p, q), (u, v), (d1, d2) = geo.out_hw, geo.stride, geo.dilation
    for r in range(geo.kernel[0]):
        for s in range(geo.kernel[1]):
            rows, cols = slice(r * d1, r * d1 + u * (p - 1) + 1, u), slice(s * d2, s * d2 + v * (q - 1) + 1, v)
            yield r * geo.kernel[1] + s, (slice(None), rows, cols)


def pool_grad_buffer(x_shape: tuple[int, ...], geo: PoolGeometry, dtype: Any) -> tuple[np.ndarray, bool]:
    """The padded NHWC buffer of a pooling input gradient, and whether the windows are disjoint.

    Disjoint windows (stride ≥ kernel, no dilation) let backward assign each offset's share
    instead of adding it; when they also tile the padded input exactly (the usual 2×2, stride 2
    on even sizes) every element is written once, so the buffer needs no zero fill.
    """
    hp, wp = geo.padded_hw(x_shape[2:])
    kernel, stride, out_hw = geo.kernel, geo.stride, geo.out_hw
    disjoint = geo.dilation == (1, 1) and stride[0] >= kernel[0] and stride[1] >= kernel[1]
    tiled = disjoint and (out_hw[0] * stride[0], out_hw[1] * stride[1]) == (hp, wp) and stride == kernel
    return (np.empty if tiled else np.zeros)((x_shape[0], hp, wp, x_shape[1]), dtype), disjoint


def pads(geo: PoolGeometry) -> bool:
    return max(geo.padding) > 0 or max(geo.extra) > 0


def give_share(g: np.ndarray, won: np.ndarray, target: np.ndarray, share: np.ndarray | None) -> None:
    """One offset's part of a max pooling's backward: δ where that offset won its window,
    assigned to ``target`` (its slice of ∂C/∂x̃) when windows are disjoint (``share`` None), else
    added through the ``share`` buffer."""
    if share is None:
        np.multiply(g, won, out=target)
    else:
        target += np.multiply(g, won, out=share)


def route_to_argmax(
    xp: np.ndarray,
    out: np.ndarray,
    g: np.ndarray,
    gxp: np.ndarray,
    offsets: list,
    real: np.ndarray | None,
    disjoint: bool,
) -> None:
    """gxp[argmax of each window] += δ of the window, for some samples (MaxPool2d.backward).
    ``real`` masks the padding, which only a window whose maximum is −∞ could tie with."""
    won = None  # windows whose maximum an earlier offset already took
    share = None if disjoint else np.empty(out.shape, g.dtype)
    for k, where in enumerate(offsets):
        hit = xp[where] == out
        if real is not None:
            hit &= real[where[1], where[2], None]
        if won is not None:
            np.greater(hit, won, out=hit)  # hit and not won (booleans)
        give_share(g, hit, gxp[where], share)
        if k + 1 < len(offsets):
            won = hit if won is None else np.logical_or(won, hit, out=won)
    if np.isnan(out).any():  # NaN ≠ NaN, so no window with NaN took a share above
        route_to_last_nan(xp, g, gxp, offsets)


def reduce_windows(
    reduce: np.ufunc, xp: np.ndarray, geo: PoolGeometry, divisor: np.ndarray | float | None = None
) -> np.ndarray:
    """(N, P, Q, C): ``reduce`` (np.maximum or np.add) over each window's R·S offsets, each a
    strided slice of the padded NHWC input, divided by ``divisor`` if given; the batch is
    spread over the free cores."""
    out = np.empty((xp.shape[0], *geo.out_hw, xp.shape[3]), xp.dtype)
    offsets = [where for _, where in offset_slices(geo)]
    scale = None if divisor is None else np.asarray(1.0 / np.asarray(divisor, dtype=np.float64), dtype=xp.dtype)

    def windows_of(part: slice) -> None:
        x_part, o = xp[part], out[part]
        np.copyto(o, x_part[offsets[0]])
        for where in offsets[1:]:
            reduce(o, x_part[where], out=o)
        if scale is not None:
            o *= scale

    pool.for_parts(windows_of, xp.shape[0], items_each=math.prod(out.shape[1:]) * len(offsets))
    return out


# sum_tiles pays below this many channels: its GEMM replaces strided adds whose inner runs are C
# numbers long (LeNet-5, 6 channels: its first pooling 0.74 + 0.55 ms instead of 0.86 + 0.96
# forward + backward in the training step); from 16 channels those runs are long enough
# (its second pooling: 0.27 + 0.29 against 0.23 + 0.27 ms)
TILE_GEMM_MAX_CHANNELS = 15


def tiles_exactly(x_nhwc: np.ndarray, geo: PoolGeometry) -> bool:
    """Whether the windows are disjoint tiles (stride = kernel, no padding or dilation) that
    cover a contiguous channels-last input of few channels exactly: where sum_tiles and
    spread_over_tiles are worth it."""
    (h, w), (k1, k2), (p, q) = x_nhwc.shape[1:3], geo.kernel, geo.out_hw
    return (
        x_nhwc.shape[3] <= TILE_GEMM_MAX_CHANNELS
        and x_nhwc.flags.c_contiguous
        and geo.stride == geo.kernel
        and geo.dilation == (1, 1)
        and geo.padding == (0, 0)
        and geo.extra == (0, 0)  # ceil_mode's last windows overhang: padded, not exact
        and (h, w) == (p * k1, q * k2)
    )


def stacked_identities(k: int, channels: int, dtype: Any) -> np.ndarray:
    """[I; …; I], (k·C, C): a run of k pixels' C channels times it is the sum over the pixels."""
    return np.tile(np.eye(channels, dtype=dtype), (k, 1))


def sum_tiles(x_nhwc: np.ndarray, geo: PoolGeometry, scale: np.ndarray | None) -> np.ndarray | None:
    """(N, P, Q, C): each k₁×k₂ tile's sum (times ``scale``) of a contiguous channels-last input
    that the tiles cover exactly; None when the input holds ±∞ or NaN (the caller sums by offsets).

    The k₁ image rows of a tile row are k₁ contiguous runs of W·C numbers: added as whole runs.
    Each row of sums is then Q groups of k₂·C numbers, and a group times [I; …; I] adds its k₂
    pixels channel by channel. That GEMM replaces k₂ strided adds whose inner runs are only C
    long (slow for LeNet-5's 6 channels: 0.8 ms against 0.2 for its first pooling). Its zeros
    meet the other channels, and 0·∞ is NaN: so only finite inputs, checked on the result.
    """
    n, _, w, c = x_nhwc.shape
    (k1, k2), (p, q) = geo.kernel, geo.out_hw
    rows = x_nhwc.reshape(n * p, k1, w * c)
    row_sums = rows[:, 0].copy()
    for i in range(1, k1):
        row_sums += rows[:, i]
    with np.errstate(invalid="ignore"):  # 0·∞ in the GEMM: seen below, and then not used
        out = (row_sums.reshape(n * p * q, k2 * c) @ stacked_identities(k2, c, x_nhwc.dtype)).reshape(n, p, q, c)
    if not np.isfinite(out).all():
        return None
    if scale is not None:
        out *= scale
    return out


def spread_over_tiles(share: np.ndarray, geo: PoolGeometry) -> np.ndarray | None:
    """The (N, H, W, C) array that holds each tile's ``share`` (N, P, Q, C) at every pixel of the
    tile (AvgPool2d's backward on tiles_exactly inputs); None when ``share`` is not finite.
    Mirror of sum_tiles: a GEMM with [I … I] copies a share to the k₂ pixels of its tile's row,
    and whole rows of W·C numbers are then copied k₁ times."""
    n, p, q, c = share.shape
    k1, k2 = geo.kernel
    if not np.isfinite(share).all():
        return None
    one_row = np.ascontiguousarray(share).reshape(n * p * q, c) @ stacked_identities(k2, c, share.dtype).T
    gx = np.empty((n * p, k1, q * k2 * c), share.dtype)
    gx[:] = one_row.reshape(n * p, 1, q * k2 * c)
    return gx.reshape(n, p * k1, q * k2, c)


def max_windows_with_argmax(xp: np.ndarray, geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(N, P, Q, C) window maxima and, beside them, which kernel offset k = r·S + s holds each
    (the first in row-major order on ties: a later offset takes over only when strictly
    greater, as in torch). Exact for windows without NaN whose maximum is a real pixel;
    ``argmax_is_exact`` says when backward may trust it. The batch is split over the cores."""
    out = np.empty((xp.shape[0], *geo.out_hw, xp.shape[3]), xp.dtype)
    offsets = [where for _, where in offset_slices(geo)]
    argmax = np.zeros(out.shape, np.min_scalar_type(len(offsets) - 1))

    def windows_of(part: slice) -> None:
        x_part, o, k = xp[part], out[part], argmax[part]
        np.copyto(o, x_part[offsets[0]])
        greater, taken = np.empty(o.shape, bool), np.empty(o.shape, k.dtype)
        for j, where in enumerate(offsets[1:], start=1):
            candidate = x_part[where]
            np.greater(candidate, o, out=greater)
            np.maximum(o, candidate, out=o)
            # k ← j where greater: j exceeds every offset noted so far, so max(k, j·greater)
            # does it in two integer passes (np.copyto with where= is 10× slower)
            np.maximum(k, np.multiply(greater, k.dtype.type(j), out=taken), out=k)

    pool.for_parts(windows_of, xp.shape[0], items_each=math.prod(out.shape[1:]) * len(offsets))
    return out, argmax


def argmax_is_exact(out: np.ndarray, geo: PoolGeometry) -> bool:
    """Whether max_windows_with_argmax's offsets are torch's argmax: not when a window holds NaN
    (torch takes its last NaN) or, with padding, when a window's maximum is −∞ (torch takes its
    first real pixel, not the padding)."""
    return not np.isnan(out).any() and not (pads(geo) and np.isneginf(out).any())


def route_by_argmax(argmax: np.ndarray, g: np.ndarray, geo: PoolGeometry, x_shape: tuple[int, ...]) -> np.ndarray:
    """The padded NHWC ∂C/∂x̃ of a max pooling from the forward's argmax offsets: offset k's
    slice gets δ where k won (assigned for disjoint windows, added otherwise). Two passes per
    offset instead of route_to_argmax's five; the batch is split over the cores."""
    gxp, disjoint = pool_grad_buffer(x_shape, geo, g.dtype)
    offsets = [where for _, where in offset_slices(geo)]

    def route(part: slice) -> None:
        k, g_part, gx_part = argmax[part], g[part], gxp[part]
        won = np.empty(k.shape, bool)
        share = None if disjoint else np.empty(g_part.shape, g.dtype)
        for j, where in enumerate(offsets):
            give_share(g_part, np.equal(k, j, out=won), gx_part[where], share)

    pool.for_parts(route, g.shape[0], items_each=math.prod(gxp.shape[1:]))
    return gxp


def real_pixels(x_shape: tuple[int, ...], geo: PoolGeometry) -> np.ndarray:
    """(H + 2a + e₁, W + 2b + e₂) mask: True on the input's pixels, False on the padding."""
    real = np.zeros(geo.padded_hw(x_shape[2:]), bool)
    (a, b), (h, w) = geo.padding, x_shape[2:]
    real[a : a + h, b : b + w] = True
    return real


def route_to_last_nan(xp: np.ndarray, g: np.ndarray, gxp: np.ndarray, offsets: list) -> None:
    """gxp += δ at the last NaN of every window that holds one (torch's argmax: val > max or NaN)."""
    won = None
    for where in reversed(offsets):
        hit = np.isnan(xp[where])
        if won is not None:
            np.greater(hit, won, out=hit)
        gxp[where] += g * hit
        won = hit if won is None else np.logical_or(won, hit, out=won)


def max_pool_input_grad(
    xp: np.ndarray, out: np.ndarray, g: np.ndarray, geo: PoolGeometry, x_shape: tuple[int, ...]
) -> np.ndarray:
    """The padded NHWC ∂C/∂x̃ of a max pooling: each window's δ (``g``, channels-last, read R·S
    times) routed to its argmax, the batch split over bprop's threads."""
    gxp, disjoint = pool_grad_buffer(x_shape, geo, g.dtype)
    offsets = [where for _, where in offset_slices(geo)]
    real = real_pixels(x_shape, geo) if pads(geo) and np.isneginf(out).any() else None

    def route(part: slice) -> None:
        route_to_argmax(xp[part], out[part], g[part], gxp[part], offsets, real, disjoint)

    pool.for_parts(route, g.shape[0], items_each=math.prod(xp.shape[1:]))
    return gxp
