"""Convolution's GEMMs: how ops/conv.py's Z = X_col W_colᵀ and its backward run fast.

Layout: the output is channels-last underneath. The GEMMs write an (N·P·Q, O) result in place,
returned as an (N, O, P, Q) view: logically NCHW like torch, physically NHWC, so the next conv
reads contiguous channels and no transpose is ever copied. The input's windows are gathered in
whichever layout the input has (the algorithm per layer follows the shape):

- channels-last input (another conv's or pool's output): im2col. x is viewed as padded
  (N, H, W, C), its windows as a strided view (N, P, Q, R, S, C), copied into the
  (N·P·Q, R·S·C) matrix X_col; each copied run is S·C long, good for C ≥ 16 or so.
- rows innermost (NCHW, as data arrives; typically the first layer, with 1 or 3 channels):
  im2row. The view [c, r, s, n, p, q] is copied into X_colᵀ (C·R·S, N·P·Q), whose runs are
  whole image rows; X_col itself would copy runs of 1–3 numbers (5–20× slower). Its columns
  are in torch's weight order (c, r, s), so W_col is a free reshape.

Either copy (ops/kernels/im2col.py) is done a few samples at a time into a workspace of at most
COLS_CHUNK_BYTES that lives across calls (one per thread: runtime/workspace.py). With several
threads the batch is split in parts, one per thread (runtime/pool.py), each running its own
chunks with a one-thread GEMM, so that the gathers and the col2im adds use every core too, not
only the GEMMs (the CIFAR-shape CNN's two convolutions: 39.5 instead of 44 ms per training step
on 2 cores).

A column of ones next to X_col (a row under X_colᵀ) folds the bias into the forward GEMM (no
pass over the output to add it) and makes the weight-gradient GEMM return ∂C/∂b as its last
column.
"""

from __future__ import annotations

import numpy as np

from bprop.ops.kernels.conv_banded import banded_backward, banded_forward, banded_pays
from bprop.ops.kernels.im2col import add_col2im, batch_chunks, cols_buffer, x_col
from bprop.runtime import pool

# A part of the batch on its own core (runtime/pool.py) needs at least this many im2col elements:
# LeNet-5's thin convolutions (≤ 1.3 M in all) trained 10% slower split in two, the CNN's on
# CIFAR shapes (3.5 and 9.4 M) faster.
PART_MIN_COLS = 1 << 20


def group_slices(groups: int, out_per_group: int, in_per_group: int) -> list[tuple[slice, slice]]:
    """(output channels, input channels) of each group."""
    return [
        (slice(g * out_per_group, (g + 1) * out_per_group), slice(g * in_per_group, (g + 1) * in_per_group))
        for g in range(groups)
    ]


def weight_rows(weight: np.ndarray, bias: np.ndarray | None, rows_first: bool) -> np.ndarray:
    """W_col (O, k) in the column order of im2col, (r, s, c), or of im2row, (c, r, s) (torch's
    own order, a free reshape), with the bias appended as column k (it meets the ones column)."""
    o = weight.shape[0]
    w = weight.reshape(o, -1) if rows_first else weight.transpose(0, 2, 3, 1).reshape(o, -1)
    return w if bias is None else np.concatenate([w, bias.reshape(o, 1).astype(w.dtype, copy=False)], axis=1)


def conv_forward_gemms(
    xp: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    groups: int,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    rows_first: bool,
) -> np.ndarray:
    """Z (N, P, Q, O) channels-last from the padded input ``xp`` (NCHW when ``rows_first``, else
    NHWC): per part of the batch (one per thread), per chunk and group, gather X_col and GEMM it
    with W_colᵀ straight into the output (or by whole rows: conv_banded.py, where that pays)."""
    if banded_pays(weight.shape, xp.shape[3 if rows_first else 2], out_hw[1], groups, xp.shape[0]):
        return banded_forward(xp, weight, bias, out_hw, stride, dilation, rows_first)
    o_ch, c_per_group, kr, ks = weight.shape
    n = xp.shape[0]
    (p, q), og, k = out_hw, o_ch // groups, kr * ks * c_per_group
    out = np.empty((n, p, q, o_ch), np.result_type(xp, weight))
    groups_of = group_slices(groups, og, c_per_group)
    w_rows = [weight_rows(weight[outs], None if bias is None else bias[outs], rows_first) for outs, _ in groups_of]

    def fill(part: slice) -> None:  # the output of some samples, a few at a time
        chunks = batch_chunks(part, p * q * k * xp.itemsize)
        buffer = cols_buffer(chunks, p * q, k, xp.dtype, bias is not None, rows_first)
        for (outs, channels), w in zip(groups_of, w_rows):
            for rows in chunks:
                cols = x_col(xp, rows, channels, (kr, ks), out_hw, stride, dilation, buffer, rows_first)
                np.matmul(cols, w.T, out=out[rows, ..., outs].reshape(-1, og))  # straight into the output

    pool.for_parts(fill, n, items_each=p * q * k, gemms=True, min_items=PART_MIN_COLS)
    return out


def conv_backward_gemms(
    xp: np.ndarray,
    weight: np.ndarray,
    g_nhwc: np.ndarray,
    groups: int,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    rows_first: bool,
    want_x: bool,
    want_w: bool,
    want_b: bool,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(∂C/∂x̃ padded NHWC, ∂C/∂W (O, C/g, R, S), ∂C/∂b), each None unless wanted, from δ
    channels-last: δ_colᵀ [X_col | 1] per part of the batch (summed over the parts) and
    col2im of δ_col W_col added into ∂C/∂x̃ (or by whole rows: conv_banded.py). ∂C/∂b comes
    with ∂C/∂W's GEMM when both are wanted, else as a GEMV of its own here."""
    wants = (want_x, want_w, want_b)
    if banded_pays(weight.shape, xp.shape[3 if rows_first else 2], out_hw[1], groups, xp.shape[0]):
        gxp, gw, gb = banded_backward(xp, weight, g_nhwc, out_hw, stride, dilation, rows_first, wants)
    else:
        gxp, gw, gb = im2col_backward(xp, weight, g_nhwc, groups, out_hw, stride, dilation, rows_first, wants)
    if want_b and gb is None:
        g_rows = g_nhwc.reshape(-1, weight.shape[0])
        gb = np.ones(g_rows.shape[0], g_rows.dtype) @ g_rows  # Σ_{n,p,q} as a BLAS GEMV: 3-4× faster than .sum
    return gxp, gw, gb


def im2col_backward(
    xp: np.ndarray,
    weight: np.ndarray,
    g_nhwc: np.ndarray,
    groups: int,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    rows_first: bool,
    wants: tuple[bool, bool, bool],
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """conv_backward_gemms through X_col: ∂C/∂b only alongside ∂C/∂W (None otherwise)."""
    want_x, want_w, want_b = wants
    o_ch, c_per_group, kr, ks = weight.shape
    og, k = o_ch // groups, kr * ks * c_per_group
    bias_col = want_b and want_w  # the bias gradient comes with the weight GEMM as its last column
    gxp = None
    if want_x:
        nhwc = (xp.shape[0], *xp.shape[2:], xp.shape[1]) if rows_first else xp.shape
        gxp = np.zeros(nhwc, g_nhwc.dtype)
    groups_of = group_slices(groups, og, c_per_group)

    def grads(part: slice) -> np.ndarray | None:
        """Adds some samples' ∂C/∂x̃ into gxp; returns their [∂C/∂W_col | ∂C/∂b] when wanted."""
        chunks = batch_chunks(part, out_hw[0] * out_hw[1] * k * xp.itemsize)
        gwb = np.zeros((o_ch, k + bias_col), g_nhwc.dtype) if want_w else None
        buffer = cols_buffer(chunks, out_hw[0] * out_hw[1], k, xp.dtype, bias_col, rows_first) if want_w else None
        for outs, channels in groups_of:
            for rows in chunks:
                delta = g_nhwc[rows, ..., outs].reshape(-1, og)  # (n·P·Q, O/g) rows of δ_col
                if gwb is not None:
                    cols = x_col(xp, rows, channels, (kr, ks), out_hw, stride, dilation, buffer, rows_first)
                    gwb[outs] += delta.T @ cols
                if gxp is not None:
                    add_col2im(delta, weight[outs], gxp[rows, ..., channels], out_hw, stride, dilation)
        return gwb

    cols_each = out_hw[0] * out_hw[1] * k
    per_part = pool.for_parts(grads, xp.shape[0], items_each=cols_each, gemms=True, min_items=PART_MIN_COLS)
    gw = gb = None
    if want_w:
        gwb = per_part[0] if len(per_part) == 1 else np.sum(per_part, axis=0)
        gw = weight_grad(gwb[:, :k], weight.shape, rows_first)
        gb = gwb[:, k].copy() if bias_col else None
    return gxp, gw, gb


def weight_grad(w_col: np.ndarray, shape: tuple[int, ...], rows_first: bool) -> np.ndarray:
    """∂C/∂W (O, C, R, S) from ∂C/∂W_col, whose columns are (c, r, s) after im2row (a free
    reshape), (r, s, c) after im2col."""
    o_ch, c_ch, kr, ks = shape
    return w_col.reshape(shape) if rows_first else w_col.reshape(o_ch, kr, ks, c_ch).transpose(0, 3, 1, 2)
