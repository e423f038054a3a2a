"""Pooling: max and average over kernel windows, as R·S strided slices of the whole batch.

Same geometry as convolution (ops/conv.py: P = ⌊(H + 2a − R)/u⌋ + 1, channels-last inside,
an NCHW view outside); docs/cnn-backprop.md derives both backward passes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.autograd import Context, Function
from bprop.ops.conv import check_geometry, pair
from bprop.ops.kernels.layout import channels_last, to_nhwc_padded, unpad_to_nchw
from bprop.runtime import pool


def _pool_setup(op: str, x: np.ndarray, kernel_size: Any, stride: Any, padding: Any):
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"{op}: padding {padding} should be at most half the kernel {kernel}")
    return kernel, stride, padding, check_geometry(op, x.shape, kernel, stride, padding)


def _offset_slices(kernel: tuple[int, int], out_hw: tuple[int, int], stride: tuple[int, int]):
    """For each kernel offset (k, r, s): the (N, P, Q, C) slice of a padded NHWC image that
    holds pixel (p·u + r, q·v + s) of every window. Pooling loops over these R·S offsets."""
    (p, q), (u, v) = out_hw, stride
    for r in range(kernel[0]):
        for s in range(kernel[1]):
            yield r * kernel[1] + s, (slice(None), slice(r, r + u * (p - 1) + 1, u), slice(s, s + v * (q - 1) + 1, v))


def _pool_grad_buffer(
    x_shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_hw: tuple[int, int],
    dtype: Any,
) -> tuple[np.ndarray, bool]:
    """The padded NHWC buffer of a pooling input gradient, and whether the windows are disjoint.

    Disjoint windows (stride ≥ kernel) let backward assign each offset's share instead of adding
    it; when they also tile the padded input exactly (the usual 2×2, stride 2 on even sizes)
    every element is written once, so the buffer needs no zero fill.
    """
    hp, wp = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    tiled = disjoint and (out_hw[0] * stride[0], out_hw[1] * stride[1]) == (hp, wp) and stride == kernel
    return (np.empty if tiled else np.zeros)((x_shape[0], hp, wp, x_shape[1]), dtype), disjoint


class MaxPool2d(Function):
    """y[n, c, p, q] = max of x over the window (r, s) at (p·u + r, q·v + s) of the padded grid,
    padding not a candidate (torch: a window of −∞ still has a real argmax).

    The max is locally the identity on its argmax and constant in the others, so
    ∂C/∂x[argmax of window (p, q)] += δ[p, q] and 0 elsewhere. The argmax is torch's: the first
    maximum in row-major order on ties, the last NaN when the window holds NaN (y is NaN then).

    Forward is a running maximum over the R·S kernel offsets, each a strided slice of the whole
    batch (padding filled with −∞); no window is copied. Backward walks the offsets in the same
    order and routes δ where x equals y, masking windows an earlier offset already won, and
    padding when a window's maximum is −∞. For disjoint windows each offset's share is assigned,
    not added. Both passes are split over the batch on bprop's threads. (Viewing x̃ as
    (N, P, R, Q, S, C) and reducing over R and S reads the same memory;
    NumPy's two-axis max over it measured 3–5× slower than R·S np.maximum calls.)
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0) -> np.ndarray:
        kernel, stride, padding, out_hw = _pool_setup("max_pool2d", x, kernel_size, stride, padding)
        xp = to_nhwc_padded(x, padding, value=-np.inf)
        out = _reduce_windows(np.maximum, xp, kernel, stride, out_hw)
        ctx.xp, ctx.out, ctx.x_shape = xp, out, x.shape
        ctx.kernel, ctx.stride, ctx.padding, ctx.out_hw = kernel, stride, padding, out_hw
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        xp, out, padding = ctx.xp, ctx.out, ctx.padding
        g = channels_last(grad_out)  # read R·S times: one copy beats R·S strided reads
        gxp, disjoint = _pool_grad_buffer(ctx.x_shape, ctx.kernel, ctx.stride, padding, ctx.out_hw, g.dtype)
        offsets = [where for _, where in _offset_slices(ctx.kernel, ctx.out_hw, ctx.stride)]

        def route(part: slice) -> None:
            _route_to_argmax(xp[part], out[part], g[part], gxp[part], offsets, padding, disjoint)

        pool.for_parts(route, g.shape[0], items_each=math.prod(xp.shape[1:]))
        return (unpad_to_nchw(gxp, padding, ctx.x_shape[2:]),)


def _route_to_argmax(
    xp: np.ndarray,
    out: np.ndarray,
    g: np.ndarray,
    gxp: np.ndarray,
    offsets: list,
    padding: tuple[int, int],
    disjoint: bool,
) -> None:
    """gxp[argmax of each window] += δ of the window, for some samples (MaxPool2d.backward)."""
    # only a window whose maximum is −∞ can tie with the −∞ padding
    real = _real_pixels(xp.shape, padding) if max(padding) > 0 and np.isneginf(out).any() else None
    won = None  # windows whose maximum an earlier offset already took
    share = None if disjoint else np.empty(out.shape, g.dtype)
    for k, where in enumerate(offsets):
        hit = xp[where] == out
        if real is not None:
            hit &= real[where[1], where[2], None]
        if won is not None:
            np.greater(hit, won, out=hit)  # hit and not won (booleans)
        if disjoint:
            np.multiply(g, hit, out=gxp[where])
        else:
            gxp[where] += np.multiply(g, hit, out=share)
        if k + 1 < len(offsets):
            won = hit if won is None else np.logical_or(won, hit, out=won)
    if np.isnan(out).any():  # NaN ≠ NaN, so no window with NaN took a share above
        _route_to_last_nan(xp, g, gxp, offsets)


def _reduce_windows(
    reduce: np.ufunc,
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    out_hw: tuple[int, int],
    scale: float | None = None,
) -> np.ndarray:
    """(N, P, Q, C): ``reduce`` (np.maximum or np.add) over each window's R·S offsets, each a
    strided slice of the padded NHWC input; the batch is spread over bprop's threads."""
    out = np.empty((xp.shape[0], *out_hw, xp.shape[3]), xp.dtype)
    offsets = [where for _, where in _offset_slices(kernel, out_hw, stride)]

    def windows_of(part: slice) -> None:
        x_part, o = xp[part], out[part]
        np.copyto(o, x_part[offsets[0]])
        for where in offsets[1:]:
            reduce(o, x_part[where], out=o)
        if scale is not None:
            o *= np.asarray(scale, dtype=o.dtype)

    pool.for_parts(windows_of, xp.shape[0], items_each=math.prod(out.shape[1:]) * len(offsets))
    return out


def _real_pixels(padded_shape: tuple[int, ...], padding: tuple[int, int]) -> np.ndarray:
    """(H + 2a, W + 2b) mask: True on the input's pixels, False on the padding."""
    real = np.zeros(padded_shape[1:3], bool)
    real[padding[0] : padded_shape[1] - padding[0], padding[1] : padded_shape[2] - padding[1]] = True
    return real


def _route_to_last_nan(xp: np.ndarray, g: np.ndarray, gxp: np.ndarray, offsets: list) -> None:
    """gxp += δ at the last NaN of every window that holds one (torch's argmax: val > max or NaN)."""
    won = None
    for where in reversed(offsets):
        hit = np.isnan(xp[where])
        if won is not None:
            np.greater(hit, won, out=hit)
        gxp[where] += g * hit
        won = hit if won is None else np.logical_or(won, hit, out=won)


class AvgPool2d(Function):
    """y[n, c, p, q] = (1/(R·S)) Σ_{r,s} x̃[n, c, p·u + r, q·v + s], zero padding counted in the
    divisor (torch's default count_include_pad=True).

    ∂y[p, q]/∂x̃[p·u + r, q·v + s] = 1/(R·S): each window spreads its δ evenly over its pixels;
    a pixel in several windows collects from each. Computed as a sum over the R·S offsets,
    each a strided slice of the whole batch (assigned rather than added for disjoint windows).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0) -> np.ndarray:
        kernel, stride, padding, out_hw = _pool_setup("avg_pool2d", x, kernel_size, stride, padding)
        xp = to_nhwc_padded(x, padding)
        out = _reduce_windows(np.add, xp, kernel, stride, out_hw, scale=1.0 / (kernel[0] * kernel[1]))
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.out_hw = x.shape, kernel, stride, padding, out_hw
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        kernel, x_shape, padding = ctx.kernel, ctx.x_shape, ctx.padding
        share = grad_out.transpose(0, 2, 3, 1) * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=grad_out.dtype)
        gxp, disjoint = _pool_grad_buffer(x_shape, kernel, ctx.stride, padding, ctx.out_hw, grad_out.dtype)
        for _, where in _offset_slices(kernel, ctx.out_hw, ctx.stride):
            if disjoint:
                gxp[where] = share
            else:
                gxp[where] += share
        return (unpad_to_nchw(gxp, padding, x_shape[2:]),)
