"""Pooling: max and average over kernel windows, as R·S strided slices of the whole batch.

Same geometry as convolution (ops/conv.py: P = ⌊(H + 2a − R)/u⌋ + 1, channels-last inside,
an NCHW view outside); docs/cnn-backprop.md derives both backward passes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.conv import check_geometry, pair
from bprop.ops.kernels.layout import channels_last
from bprop.ops.kernels.pool_windows import (
    argmax_is_exact,
    max_pool_input_grad,
    max_windows_with_argmax,
    offset_slices,
    padded_nhwc,
    pool_grad_buffer,
    real_pixels,
    reduce_windows,
    route_by_argmax,
    spread_over_tiles,
    sum_tiles,
    tiles_exactly,
    unpad_nchw,
)


@dataclass(frozen=True)
class PoolGeometry:
    """Where the windows of a 2-D pooling sit: window (p, q) reads the padded pixels
    (p·u + r·d₁, q·v + s·d₂), r < R, s < S. ``extra`` rows and columns of padding below and
    right of the input are there only for the last windows of ceil_mode (torch's rule: a
    window may hang over the edge, but must start inside the input or its left padding)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    out_hw: tuple[int, int]
    extra: tuple[int, int]

    def padded_hw(self, hw: tuple[int, ...]) -> tuple[int, int]:
        return hw[0] + 2 * self.padding[0] + self.extra[0], hw[1] + 2 * self.padding[1] + self.extra[1]


def pool_geometry(
    op: str, x_shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1, ceil_mode=False
) -> PoolGeometry:
    """place_windows, remembered per (shape, arguments) when the arguments are plain ints (or
    tuples of them): a layer asks the same at every step, and the checks cost ~10 µs, a tenth of
    a batch-1 pooling. Anything else (lists, floats, NumPy integers: 2.0 == 2 as a key, but only
    one of them is valid) is checked afresh; errors are never remembered."""
    args = (op, tuple(x_shape), kernel_size, stride, padding, dilation, ceil_mode)
    plain = all(_plain_ints(v) for v in (kernel_size, padding, dilation)) and (stride is None or _plain_ints(stride))
    return _remembered_geometry(*args) if plain and type(ceil_mode) is bool else place_windows(*args)


def _plain_ints(value: Any) -> bool:
    return type(value) is int or (type(value) is tuple and all(type(v) is int for v in value))


def place_windows(
    op: str, x_shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1, ceil_mode=False
) -> PoolGeometry:
    """Check a pooling's arguments against a 4-D input and place its windows.

    P = ⌊(H + 2a − d(R − 1) − 1)/u⌋ + 1, or with ceil_mode ⌈…⌉ + 1 less the last window if it
    would start in the right padding."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or (not np.ndim(stride) and stride == []) else pair(stride, "stride")
    padding, dilation = pair(padding, "padding"), pair(dilation, "dilation")
    check_geometry(op, x_shape, kernel, stride, padding, dilation)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if padding[0] * 2 > span[0] or padding[1] * 2 > span[1]:
        raise ValueError(f"{op}: padding {padding} should be at most half the kernel {kernel} (dilation {dilation})")
    out_hw, extra = [], []
    for size, k, u, a in zip(x_shape[2:], span, stride, padding):
        reach = size + 2 * a - k
        n = (-(-reach // u) if ceil_mode else reach // u) + 1
        if ceil_mode and (n - 1) * u >= size + a:
            n -= 1
        out_hw.append(n)
        extra.append(max(0, (n - 1) * u + k - (size + 2 * a)))
    return PoolGeometry(kernel, stride, padding, dilation, (out_hw[0], out_hw[1]), (extra[0], extra[1]))


_remembered_geometry = functools.lru_cache(maxsize=256)(place_windows)


class MaxPool2d(ArrayFunction):
    """y[n, c, p, q] = max of x over the window (r, s) at (p·u + r·d₁, q·v + s·d₂) of the padded
    grid, padding not a candidate (torch: a window of −∞ still has a real argmax); dilation d
    spreads the taps, ceil_mode keeps a last, partial window at the bottom and right edges.

    The max is locally the identity on its argmax and constant in the others, so
    ∂C/∂x[argmax of window (p, q)] += δ[p, q] and 0 elsewhere. The argmax is torch's: the first
    maximum in row-major order on ties, the last NaN when the window holds NaN (y is NaN then).

    Forward is a running maximum over the R·S kernel offsets, each a strided slice of the whole
    batch (padding filled with −∞); no window is copied. When a gradient will be wanted, forward
    also notes which offset won each window (a later offset only when strictly greater: torch's
    first maximum), and backward routes δ to offset k where k won: two passes per offset. Where
    that rule is not torch's (a window holding NaN, or a −∞ window beside padding), backward
    walks the offsets again and routes δ where x equals y, masking windows an earlier offset
    already won, the last NaN, and the padding. For disjoint windows each offset's share is
    assigned, not added. Both passes are split over the batch on bprop's threads. (Viewing x̃ as
    (N, P, R, Q, S, C) and reducing over R and S reads the same memory;
    NumPy's two-axis max over it measured 3–5× slower than R·S np.maximum calls.)
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: bool = False,
    ) -> np.ndarray:
        geo = pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        xp = padded_nhwc(x, geo, -np.inf)
        if any(ctx.needs_input_grad):  # training: note each window's argmax offset on the way
            out, ctx.argmax = max_windows_with_argmax(xp, geo)
        else:
            out = reduce_windows(np.maximum, xp, geo)
        ctx.xp, ctx.out, ctx.x_shape, ctx.geo = xp, out, x.shape, geo
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        g = channels_last(grad_out)
        argmax = ctx.__dict__.get("argmax")  # absent when forward ran without grad (gradcheck reruns)
        if argmax is not None and argmax_is_exact(ctx.out, ctx.geo):
            gxp = route_by_argmax(argmax, g, ctx.geo, ctx.x_shape)
        else:  # NaN, or −∞ windows beside padding: compare x with y again, torch's tie rules
            gxp = max_pool_input_grad(ctx.xp, ctx.out, g, ctx.geo, ctx.x_shape)
        return (unpad_nchw(gxp, ctx.geo, ctx.x_shape[2:]),)


def max_pool2d_indices(
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """(N, C, P, Q) int64: where each window's maximum sits, as the flat index h·W + w into its
    (H, W) plane (torch's return_indices; MaxPool2d's backward routes δ to the same pixels).
    Not differentiable: indices are what MaxUnpool2d takes."""
    geo = pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = padded_nhwc(x, geo, -np.inf)
    out = reduce_windows(np.maximum, xp, geo)
    real = real_pixels(x.shape, geo)
    (u, v), (d1, d2), (a, b), width = geo.stride, geo.dilation, geo.padding, x.shape[3]
    rows, cols = np.arange(geo.out_hw[0]) * u - a, np.arange(geo.out_hw[1]) * v - b
    index, won, last_nan = np.zeros(out.shape, np.int64), np.zeros(out.shape, bool), np.zeros(out.shape, bool)
    for k, where in offset_slices(geo):
        r, s = divmod(k, geo.kernel[1])
        flat = ((rows + r * d1)[:, None] * width + (cols + s * d2)[None, :])[None, :, :, None]
        candidate = xp[where]
        hit = (candidate == out) & real[where[1], where[2], None] & ~won
        nan = np.isnan(candidate)
        np.copyto(index, flat, where=hit | nan)  # a later NaN takes over, as in torch
        won |= hit
        last_nan |= nan
    return index.transpose(0, 3, 1, 2)


def _avg_divisors(x_shape: tuple[int, ...], geo: PoolGeometry, count_include_pad: bool) -> np.ndarray | float:
    """The divisor of each window, torch's rule: its size within the padded input (windows of
    ceil_mode cut at the padding's edge), or with count_include_pad=False its real pixels only.
    A float when every window has the same (the common case: one scale for the whole output).
    Remembered per image size and geometry (~40 µs of NumPy calls a layer would repeat every
    step); an array divisor is read-only, as it is shared."""
    return _window_divisors(tuple(x_shape[2:]), geo, bool(count_include_pad))


@functools.lru_cache(maxsize=256)
def _window_divisors(hw: tuple[int, ...], geo: PoolGeometry, count_include_pad: bool) -> np.ndarray | float:
    per_axis = []
    for size, k, u, a, n in zip(hw, geo.kernel, geo.stride, geo.padding, geo.out_hw):
        start = np.arange(n) * u - a
        end = np.minimum(start + k, size + a)
        per_axis.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
    divisors = np.multiply.outer(per_axis[0], per_axis[1]).astype(np.float64)
    if divisors.size and (divisors == divisors.flat[0]).all():
        return float(divisors.flat[0])
    divisors.flags.writeable = False
    return divisors[:, :, None]


class AvgPool2d(ArrayFunction):
    """y[n, c, p, q] = (1/D_pq) Σ_{r,s} x̃[n, c, p·u + r, q·v + s], x̃ zero-padded. D_pq is the
    window's size (torch's count_include_pad=True, zero padding counted; cut at the padding's
    edge for a last ceil_mode window), its count of real pixels (count_include_pad=False), or
    ``divisor_override``.

    ∂y[p, q]/∂x̃[p·u + r, q·v + s] = 1/D_pq: each window spreads its δ evenly over its pixels;
    a pixel in several windows collects from each. Computed as a sum over the R·S offsets,
    each a strided slice of the whole batch (assigned rather than added for disjoint windows).
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> np.ndarray:
        geo = pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode)
        if divisor_override is not None and divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must not be zero")
        divisor = divisor_override or _avg_divisors(x.shape, geo, count_include_pad)
        xp = padded_nhwc(x, geo, 0.0)
        tiled = tiles_exactly(xp, geo)  # the usual 2×2 on even sizes, channels-last: rows and a GEMM
        out = sum_tiles(xp, geo, np.asarray(1.0 / divisor, dtype=x.dtype)) if tiled else None
        if out is None:
            out = reduce_windows(np.add, xp, geo, divisor)
        ctx.x_shape, ctx.geo, ctx.divisor, ctx.tiled = x.shape, geo, divisor, tiled
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        geo, x_shape = ctx.geo, ctx.x_shape
        scale = np.asarray(1.0 / np.asarray(ctx.divisor, dtype=np.float64), dtype=grad_out.dtype)
        share = grad_out.transpose(0, 2, 3, 1) * scale
        if ctx.tiled and (spread := spread_over_tiles(share, geo)) is not None:
            return (spread.transpose(0, 3, 1, 2),)
        gxp, disjoint = pool_grad_buffer(x_shape, geo, grad_out.dtype)
        for _, where in offset_slices(geo):
            if disjoint:
                gxp[where] = share
            else:
                gxp[where] += share
        return (unpad_nchw(gxp, geo, x_shape[2:]),)


def adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """Window i of ``out`` covering ``size`` cells: [⌊i·size/out⌋, ⌈(i + 1)·size/out⌉) (torch's)."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_output_size(op: str, x_shape: tuple[int, ...], output_size: Any) -> tuple[int, int]:
    """torch's output_size: an int, or a pair whose None entries keep the input's size."""
    if len(x_shape) not in (3, 4):
        raise ValueError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {tuple(x_shape)}")
    sizes = (output_size, output_size) if output_size is None or np.ndim(output_size) == 0 else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(int(x_shape[-2 + i]) if s is None else int(s) for i, s in enumerate(sizes))
    if min(out) < 1 and min(x_shape[-2:]) > 0:
        raise ValueError(f"{op}: output_size {out} must be positive")
    return out[0], out[1]


class AdaptiveAvgPool2d(ArrayFunction):
    """Average pooling to a fixed output size (P, Q): window p spans rows
    I_p = [⌊pH/P⌋, ⌈(p + 1)H/P⌉), window q columns J_q = [⌊qW/Q⌋, ⌈(q + 1)W/Q⌉).

    The windows are separable: y[p, q] = (1/|J_q|) Σ_{w∈J_q} m[p, w] with
    m[p, w] = (1/|I_p|) Σ_{h∈I_p} x[h, w], the row means. So
        ∂C/∂m[p, w] = Σ_{q: w∈J_q} δ[p, q]/|J_q|,    ∂C/∂x[h, w] = Σ_{p: h∈I_p} ∂C/∂m[p, w]/|I_p|
    (windows may overlap when P does not divide H). P + Q slices, each over the whole batch and
    any leading dims ((N, C) or an unbatched (C,)); a matrix product would turn one ±∞ into NaN
    everywhere (0·∞).
    """

    float_inputs = "all"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, output_size: Any) -> np.ndarray:
        p_size, q_size = adaptive_output_size("adaptive_avg_pool2d", x.shape, output_size)
        ctx.rows, ctx.cols = adaptive_bounds(x.shape[-2], p_size), adaptive_bounds(x.shape[-1], q_size)
        ctx.x_shape = x.shape
        means = np.stack([x[..., h0:h1, :].mean(axis=-2) for h0, h1 in ctx.rows], axis=-2)
        return np.stack([means[..., w0:w1].mean(axis=-1) for w0, w1 in ctx.cols], axis=-1)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        g_means = np.zeros((*grad_out.shape[:-1], ctx.x_shape[-1]), grad_out.dtype)
        for q, (w0, w1) in enumerate(ctx.cols):
            g_means[..., w0:w1] += grad_out[..., q : q + 1] / np.asarray(w1 - w0, grad_out.dtype)
        gx = np.zeros(ctx.x_shape, grad_out.dtype)
        for p, (h0, h1) in enumerate(ctx.rows):
            gx[..., h0:h1, :] += g_means[..., p : p + 1, :] / np.asarray(h1 - h0, grad_out.dtype)
        return (gx,)


def adaptive_max_pool2d_indices(x: np.ndarray, output_size: Any) -> np.ndarray:
    """(…, P, Q) int64: the flat index h·W + w of each adaptive window's maximum in its plane
    (the first maximum in row-major order, the last NaN if the window holds one, as in torch)."""
    p_size, q_size = adaptive_output_size("adaptive_max_pool2d", x.shape, output_size)
    height, width = x.shape[-2:]
    index = np.zeros((*x.shape[:-2], p_size, q_size), np.int64)
    for p, (h0, h1) in enumerate(adaptive_bounds(height, p_size)):
        for q, (w0, w1) in enumerate(adaptive_bounds(width, q_size)):
            block = x[..., h0:h1, w0:w1].reshape(*x.shape[:-2], (h1 - h0) * (w1 - w0))
            local = np.argmax(block, axis=-1)  # NumPy: the first maximum, or the first NaN
            nan = np.isnan(block)
            last_nan = block.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
            local = np.where(nan.any(axis=-1), last_nan, local)
            index[..., p, q] = (h0 + local // (w1 - w0)) * width + w0 + local % (w1 - w0)
    return index


class AdaptiveMaxPool2d(ArrayFunction):
    """Max pooling to a fixed output size (P, Q), windows as AdaptiveAvgPool2d's.

    y[p, q] = x[i*(p, q)] with i* the window's argmax (torch's: first maximum, last NaN);
    ∂C/∂x[i] = Σ of δ[p, q] over the windows whose argmax is i (windows may overlap, so a
    pixel can collect from several). The loop runs over the P·Q windows, each a slice of the
    whole batch; backward is one bincount over the flat indices.
    """

    float_inputs = "all"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, output_size: Any) -> np.ndarray:
        index = adaptive_max_pool2d_indices(x, output_size)
        planes = x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])
        ctx.index, ctx.x_shape = index, x.shape
        out = np.take_along_axis(planes, index.reshape(*index.shape[:-2], index.shape[-2] * index.shape[-1]), axis=-1)
        return out.reshape(index.shape)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (scatter_add_planes(grad_out, ctx.index, ctx.x_shape),)


def scatter_add_planes(values: np.ndarray, index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An array of ``shape`` (…, H, W), zero but for Σ values[…, k] added at flat plane index
    index[…, k] (a repeated index collects every value sent to it)."""
    planes = math.prod(shape[:-2])
    area = shape[-2] * shape[-1]
    per_plane = index.shape[-2] * index.shape[-1]
    flat = index.reshape(planes, per_plane) + (np.arange(planes) * area)[:, None]
    total = np.bincount(flat.ravel(), weights=values.reshape(planes, per_plane).ravel(), minlength=planes * area)
    return total.astype(values.dtype, copy=False).reshape(shape)


class MaxUnpool2d(ArrayFunction):
    """The partial inverse of max pooling: y (…, H, W) is zero except y[indices[k]] = x[k],
    ``indices`` being MaxPool2d's return_indices (flat h·W + w within each plane).

    y is a scatter of x, so ∂C/∂x[k] = δ_y[indices[k]]: backward gathers.
    (Where two windows share an argmax one write wins, as in torch, and backward still gives
    both x the same δ.)
    """

    float_inputs = (0,)

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, indices: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.shape != x.shape:
            raise ValueError(f"max_unpool2d: indices of shape {indices.shape} must match the input {x.shape}")
        area = output_size[0] * output_size[1]
        if indices.size and (indices.min() < 0 or indices.max() >= area):
            raise ValueError(
                f"max_unpool2d: an index ({int(indices.max())}) is outside the output {tuple(output_size)}"
            )
        out = np.zeros((*x.shape[:-2], area), x.dtype)
        per_plane = x.shape[-2] * x.shape[-1]
        flat = indices.reshape(*x.shape[:-2], per_plane)
        np.put_along_axis(out, flat, x.reshape(*x.shape[:-2], per_plane), axis=-1)
        ctx.flat, ctx.x_shape = flat, x.shape
        return out.reshape(*x.shape[:-2], *output_size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        area = grad_out.shape[-2] * grad_out.shape[-1]
        g = np.take_along_axis(grad_out.reshape(*grad_out.shape[:-2], area), ctx.flat, axis=-1)
        return g.reshape(ctx.x_shape), None
