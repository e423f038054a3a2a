"""Convolution by whole image rows: the banded (row-Toeplitz) GEMMs that conv_gemm.py uses instead
of im2col where a kernel spans much of a narrow row (LeNet-5's two convolutions).

Along output row p, the input rows it reads are R runs of W̃·C contiguous numbers, and

    z[n, p, q, o] = b[o] + Σ_{r, w, c} x̃[n, p·u + r·d₁, w, c] · B[(q, o), (r, w, c)]

with the banded matrix B[(q, o), (r, w, c)] = W[o, c, r, s] where w = q·v + s·d₂, 0 elsewhere.
With X_rows the (n·P, R·W̃·C) matrix of those input rows (R·W̃/(Q·R·S) the size of X_col, copied
in runs of whole rows) and δ_rows = δ seen as (n·P, Q·O), all three products are GEMMs:

    Z_rows = [X_rows | 1] [B | b]ᵀ        (n·P, Q·O) is the channels-last output itself
    ∂C/∂[B | b] = δ_rowsᵀ [X_rows | 1]   then ∂C/∂W[o, c, r, s] = Σ_q ∂C/∂B[(q, o), (r, q·v + s·d₂, c)]
                                          and ∂C/∂b[o] = Σ_q ∂C/∂b[(q, o)]
    G = δ_rows B                          then ∂C/∂x̃[n, p·u + r·d₁] += G[n, p, r] (whole rows)

B is mostly zeros (S of every W̃ columns), so each GEMM does W̃/S times im2col's flops; in
exchange the GEMMs are square-ish instead of thin (im2col's has O columns, its col2im R·S GEMMs
of C columns each) and the copy is smaller. ``banded_pays`` says where that wins: few output
channels, a kernel spanning much of the row, a batch of 16 or more.

NCHW inputs (rows innermost, as data arrives) order X_rows's columns (c, r, w) instead, so the
copy still runs along image rows; B's columns follow.
"""

from __future__ import annotations

import numpy as np

from bprop.ops.kernels.im2col import batch_chunks, cols_buffer
from bprop.ops.kernels.layout import strided_view
from bprop.runtime import pool, workspace

# The banded GEMMs do W̃/S times im2col's flops, but im2col's are thin when the output has few
# channels (its GEMM has O columns) and so are col2im's (C columns each). Measured forward +
# backward at batch 64, banded / im2col, alternating in one process (W̃/S, C → O):
#   wins:   6.4, 1 → 6: 0.79 (LeNet-5's first)   2.8, 6 → 16: 0.60 (its second)
#           6.4, 3 → 6: 0.67   3.6, 6 → 8: 0.55   3.3, 4 → 12: 0.62   4.0, 8 → 16: 0.82
#   losses: 10, 1 → 8: 1.36    7.2, 3 → 16: 1.45  10, 1 → 32: 1.74   3.6, 16 → 32: 1.68
#           3.0, 32 → 64: 1.74   2.0, 64 → 64: 1.55
# and below 16 samples both LeNet-5 convolutions lose (batch 1: 1.45–1.64; building B and the
# small GEMMs cost more than they save). So: up to MAX_OUT channels, rows of at most
# MAX_WIDTH_PER_TAP kernel widths (THIN_MAX_WIDTH_PER_TAP below MAX_OUT), MIN_BATCH samples.
MAX_OUT = 16
MAX_WIDTH_PER_TAP = 4
THIN_MAX_WIDTH_PER_TAP = 8
MIN_BATCH = 16
# B holds Q·O·R·W̃·C numbers, Q·W̃/S times the weight's: LeNet-5's are 27 k and 67 k. A wide
# kernel over many input channels would make it huge, so the route stops at this size.
MAX_BAND_ITEMS = 1 << 20

# a part of the batch on its own core needs this many X_rows elements (as im2col's parts do)
PART_MIN_ITEMS = 1 << 20


def banded_pays(weight_shape: tuple[int, ...], padded_width: int, out_width: int, groups: int, batch: int) -> bool:
    """Whether the banded route beats im2col for this weight (O, C, R, S) on rows of W̃ pixels
    giving Q outputs each."""
    o_ch, c_ch, kr, ks = weight_shape
    if groups != 1 or batch < MIN_BATCH or o_ch > MAX_OUT:
        return False
    if out_width * o_ch * kr * padded_width * c_ch > MAX_BAND_ITEMS:
        return False
    limit = THIN_MAX_WIDTH_PER_TAP if o_ch < MAX_OUT else MAX_WIDTH_PER_TAP
    return padded_width <= limit * ks


def column_strides(kernel_rows: int, width: int, channels: int, itemsize: int, rows_first: bool) -> tuple:
    """Byte strides of (r, w, c) inside a row of X_rows (or of B): columns ordered (r, w, c), or
    (c, r, w) after an NCHW input."""
    if rows_first:
        return width * itemsize, itemsize, kernel_rows * width * itemsize
    return width * channels * itemsize, channels * itemsize, itemsize


def band_diagonal(
    band: np.ndarray,
    q_out: int,
    kernel: tuple[int, int],
    width: int,
    channels: int,
    stride: int,
    dilation: int,
    rows_first: bool,
) -> np.ndarray:
    """The view [q, o, r, s, c] = band[(q, o), (r, q·v + s·d₂, c)] of a contiguous (Q·O, k [+ 1])
    band (or of its gradient), v = ``stride`` and d₂ = ``dilation`` along the row: where W's taps
    sit. Distinct (q, s) land on distinct (q, w), so writing through it never overlaps."""
    v, d2 = stride, dilation
    o_ch = band.shape[0] // q_out
    s_r, s_w, s_c = column_strides(kernel[0], width, channels, band.itemsize, rows_first)
    s_q, s_o = o_ch * band.strides[0], band.strides[0]
    shape = (q_out, o_ch, kernel[0], kernel[1], channels)
    return np.ndarray(shape, band.dtype, buffer=band, strides=(s_q + v * s_w, s_o, s_r, d2 * s_w, s_c))


def banded_taps(
    weight: np.ndarray, bias: np.ndarray | None, q_out: int, width: int, stride: int, dilation: int, rows_first: bool
) -> np.ndarray:
    """[B | b]: (Q·O, R·W̃·C [+ 1]), the bias (if any) as the last column, where the ones of
    X_rows meet it."""
    o_ch, c_ch, kr, ks = weight.shape
    k = kr * width * c_ch
    band = np.zeros((q_out * o_ch, k + (bias is not None)), weight.dtype)
    diagonal = band_diagonal(band, q_out, (kr, ks), width, c_ch, stride, dilation, rows_first)
    np.copyto(diagonal, weight.transpose(0, 2, 3, 1))  # (o, r, s, c), the same for every q
    if bias is not None:
        band[:, k] = np.tile(bias.astype(band.dtype, copy=False), q_out)
    return band


def x_rows(
    xp: np.ndarray,
    rows: slice,
    out_rows: int,
    kernel_rows: int,
    stride: int,
    dilation: int,
    buffer: np.ndarray,
    rows_first: bool,
) -> np.ndarray:
    """X_rows of the samples ``rows``, (n·P, k [+ 1]), copied into the first rows of ``buffer``:
    [n, p, (r, w, c)] = x̃[n, p·u + r·d₁, w, c] (NHWC x̃), or [n, p, (c, r, w)] (NCHW x̃)."""
    part = xp[rows]
    if rows_first:
        sn, sc, sh, sw = part.strides
        n, c, _, w = part.shape
        shape, strides = (n, out_rows, c, kernel_rows, w), (sn, stride * sh, sc, dilation * sh, sw)
    else:
        sn, sh, sw, sc = part.strides
        n, _, w, c = part.shape
        shape, strides = (n, out_rows, kernel_rows, w, c), (sn, stride * sh, dilation * sh, sw, sc)
    k = kernel_rows * w * c
    cols = buffer[: n * out_rows]
    np.copyto(cols[:, :k].reshape(shape), strided_view(part, shape, strides))
    return cols


def banded_forward(
    xp: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    rows_first: bool,
) -> np.ndarray:
    """Z (N, P, Q, O) channels-last: [X_rows | 1] [B | b]ᵀ, chunk by chunk, part by part."""
    geometry = Geometry(xp, weight, out_hw, stride, dilation, rows_first)
    band = banded_taps(weight, bias, out_hw[1], geometry.width, stride[1], dilation[1], rows_first)
    out = np.empty((xp.shape[0], *out_hw, weight.shape[0]), np.result_type(xp, weight))
    out_rows = out.reshape(xp.shape[0] * out_hw[0], out_hw[1] * weight.shape[0])  # (N·P, Q·O)

    def fill(part: slice) -> None:
        chunks = batch_chunks(part, out_hw[0] * geometry.k * xp.itemsize)
        buffer = cols_buffer(chunks, out_hw[0], geometry.k, xp.dtype, bias is not None, transposed=False)
        for rows in chunks:
            cols = geometry.rows(xp, rows, buffer)
            np.matmul(cols, band.T, out=out_rows[rows.start * out_hw[0] : rows.stop * out_hw[0]])

    pool.for_parts(fill, xp.shape[0], items_each=out_hw[0] * geometry.k, gemms=True, min_items=PART_MIN_ITEMS)
    return out


def banded_backward(
    xp: np.ndarray,
    weight: np.ndarray,
    g_nhwc: np.ndarray,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    rows_first: bool,
    wants: tuple[bool, bool, bool],
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(∂C/∂x̃ padded NHWC, ∂C/∂W (O, C, R, S), ∂C/∂b), each None unless wanted; ∂C/∂b only
    alongside ∂C/∂W, as the last column of its GEMM (conv_backward_gemms sums δ otherwise)."""
    want_x, want_w, want_b = wants
    geometry = Geometry(xp, weight, out_hw, stride, dilation, rows_first)
    o_ch, c_ch, kr, ks = weight.shape
    n, (p, q) = xp.shape[0], out_hw
    delta_rows = g_nhwc.reshape(n * p, q * o_ch)
    gxp = np.zeros((n, *xp.shape[2:], c_ch) if rows_first else xp.shape, g_nhwc.dtype) if want_x else None
    # col2im's rows are NHWC whatever the input's layout: B's columns in (r, w, c) order
    band = banded_taps(weight, None, q, geometry.width, stride[1], dilation[1], False) if want_x else None
    bias_col = want_w and want_b

    def grads(part: slice) -> np.ndarray | None:
        chunks = batch_chunks(part, p * geometry.k * xp.itemsize)
        g_band = np.zeros((q * o_ch, geometry.k + bias_col), g_nhwc.dtype) if want_w else None
        buffer = cols_buffer(chunks, p, geometry.k, xp.dtype, bias_col, transposed=False) if want_w else None
        for rows in chunks:
            delta = delta_rows[rows.start * p : rows.stop * p]
            if g_band is not None:
                g_band += delta.T @ geometry.rows(xp, rows, buffer)
            if band is not None:
                add_col2im_banded(delta, band, gxp[rows], p, stride[0], dilation[0])
        return g_band

    per_part = pool.for_parts(grads, n, items_each=p * geometry.k, gemms=True, min_items=PART_MIN_ITEMS)
    gw = gb = None
    if want_w:
        g_band = per_part[0] if len(per_part) == 1 else np.sum(per_part, axis=0)
        diagonal = band_diagonal(g_band, q, (kr, ks), geometry.width, c_ch, stride[1], dilation[1], rows_first)
        gw = diagonal.sum(axis=0).transpose(0, 3, 1, 2)  # Σ_q, as (O, C, R, S)
        if bias_col:
            gb = g_band[:, geometry.k].reshape(q, o_ch).sum(axis=0)
    return gxp, gw, gb


def add_col2im_banded(
    delta: np.ndarray, band: np.ndarray, gxp: np.ndarray, out_rows: int, stride: int, dilation: int
) -> None:
    """gxp += col2im(δ_col W_col) by whole image rows: G = δ_rows B in one GEMM, then
    ∂C/∂x̃[:, p·u + r·d₁] += G[:, p, r] for each kernel row r (R adds of whole rows)."""
    n, width, channels = gxp.shape[0], gxp.shape[2], gxp.shape[3]
    kr = band.shape[1] // (width * channels)
    product = workspace.scratch((delta.shape[0], band.shape[1]), np.result_type(delta, band), slot="col2im rows")
    np.matmul(delta, band, out=product)  # its own slot: the weight gradient's X_rows is alive meanwhile
    per_row = product.reshape(n, out_rows, kr, width, channels)
    for r in range(kr):
        top = r * dilation
        gxp[:, top : top + stride * (out_rows - 1) + 1 : stride] += per_row[:, :, r]


class Geometry:
    """What the banded route needs of a layer's shapes: k = R·W̃·C, the padded width, and X_rows."""

    def __init__(
        self,
        xp: np.ndarray,
        weight: np.ndarray,
        out_hw: tuple[int, int],
        stride: tuple[int, int],
        dilation: tuple[int, int],
        rows_first: bool,
    ) -> None:
        self.width = xp.shape[3] if rows_first else xp.shape[2]
        channels = xp.shape[1] if rows_first else xp.shape[3]
        self.kernel_rows, self.out_rows = weight.shape[2], out_hw[0]
        self.k = self.kernel_rows * self.width * channels
        self.stride, self.dilation, self.rows_first = stride, dilation, rows_first

    def rows(self, xp: np.ndarray, rows: slice, buffer: np.ndarray) -> np.ndarray:
        u, d1 = self.stride[0], self.dilation[0]
        return x_rows(xp, rows, self.out_rows, self.kernel_rows, u, d1, buffer, self.rows_first)
