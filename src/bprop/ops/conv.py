"""Convolution, fast: im2col (or im2row) through stride tricks, GEMMs over chunks of the batch
(one per group and chunk), and col2im as a loop over the R·S kernel offsets (never over samples
or pixels).

Notation of the study notes (docs/cnn-backprop.md has the full derivation): input x of
C channels and H×W pixels, kernel R×S, stride (u, v), padding (a, b), dilation (d₁, d₂),
output P×Q with P = ⌊(H + 2a − d₁(R − 1) − 1)/u⌋ + 1 (= ⌊(H + 2a − R)/u⌋ + 1 without dilation).

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

from typing import Any

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.kernels.im2col import add_col2im, batch_chunks, cols_buffer, rows_innermost, x_col
from bprop.ops.kernels.layout import channels_last, pad_nchw, to_nhwc_padded, unpad_to_nchw
from bprop.runtime import pool

# A part of the batch on its own core (runtime/pool.py) needs at least this many im2col elements:
# LeNet-5's thin convolutions (≤ 1.3 M in all) trained 10% slower split in two, the CNN's on
# CIFAR shapes (3.5 and 9.4 M) faster.
PART_MIN_COLS = 1 << 20


def pair(value: Any, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (torch accepts both for every conv argument)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """P = ⌊(H + 2a − d(R − 1) − 1)/u⌋ + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def check_geometry(
    op: str,
    x_shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int]:
    """Validate a 4-D input against a kernel; returns the output size (P, Q)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W), got shape {tuple(x_shape)}")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel {kernel}, stride {stride} and dilation {dilation} must be at least 1")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding {padding} must not be negative")
    H, W = x_shape[2], x_shape[3]
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if span[0] > H + 2 * padding[0] or span[1] > W + 2 * padding[1]:
        raise ValueError(
            f"{op}: kernel {kernel} (dilation {dilation}) is larger than the padded input "
            f"{H + 2 * padding[0]}×{W + 2 * padding[1]} of shape {tuple(x_shape)}"
        )
    return (
        output_size(H, kernel[0], stride[0], padding[0], dilation[0]),
        output_size(W, kernel[1], stride[1], padding[1], dilation[1]),
    )


def _group_slices(groups: int, out_per_group: int, in_per_group: int) -> list[tuple[slice, slice]]:
    """(output channels, input channels) of each group."""
    return [
        (slice(g * out_per_group, (g + 1) * out_per_group), slice(g * in_per_group, (g + 1) * in_per_group))
        for g in range(groups)
    ]


class Conv2d(ArrayFunction):
    """Cross-correlation (what deep learning calls convolution), torch's conv2d:

        z[n, o, p, q] = b[o] + Σ_{c, r, s} W[o, c, r, s] · x̃[n, c, p·u + r·d₁, q·v + s·d₂]

    with x̃ the zero-padded input and c running over the o's group. As a matrix product,
    Z = X_col W_colᵀ with X_col the (N·P·Q, R·S·C) im2col matrix. Backward, with δ = ∂C/∂z:

        ∂C/∂W_col = δ_colᵀ X_col                      (cross-correlation of x with δ)
        ∂C/∂X_col = δ_col W_col, then col2im           (= full convolution of the
                    stride-dilated δ with the 180°-rotated kernel, cropped by the padding;
                    computed offset by offset, see add_col2im)
        ∂C/∂b[o] = Σ_{n,p,q} δ[n, o, p, q]
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> np.ndarray:
        stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
        o_ch, c_per_group, kr, ks = weight.shape
        if groups < 1 or o_ch % groups:
            raise ValueError(f"conv2d: out_channels {o_ch} must be divisible by groups {groups}")
        if x.ndim != 4 or x.shape[1] != c_per_group * groups:
            raise ValueError(
                f"conv2d: expected input (N, {c_per_group * groups}, H, W) for weight "
                f"{weight.shape} and groups={groups}, got {tuple(x.shape)}"
            )
        out_hw = check_geometry("conv2d", x.shape, (kr, ks), stride, padding, dilation)
        n, (p, q), og, k = x.shape[0], out_hw, o_ch // groups, kr * ks * c_per_group
        rows_first = groups == 1 and rows_innermost(x)
        xp = pad_nchw(x, padding) if rows_first else to_nhwc_padded(x, padding)
        out = np.empty((n, p, q, o_ch), np.result_type(x, weight))
        groups_of = _group_slices(groups, og, c_per_group)
        w_rows = [_weight_rows(weight[outs], None if bias is None else bias[outs], rows_first) for outs, _ in groups_of]

        def fill(part: slice) -> None:  # the output of some samples, a few at a time
            chunks = batch_chunks(part, p * q * k * x.itemsize)
            buffer = cols_buffer(chunks, out_hw, k, x.dtype, bias is not None, rows_first)
            for (outs, channels), w in zip(groups_of, w_rows):
                for rows in chunks:
                    cols = x_col(xp, rows, channels, (kr, ks), out_hw, stride, dilation, buffer, rows_first)
                    np.matmul(cols, w.T, out=out[rows, ..., outs].reshape(-1, og))  # straight into the output

        pool.for_parts(fill, n, items_each=p * q * k, gemms=True, min_items=PART_MIN_COLS)
        ctx.xp, ctx.weight, ctx.x_shape, ctx.out_hw = xp, weight, x.shape, out_hw
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups, ctx.rows_first = (
            stride,
            padding,
            dilation,
            groups,
            rows_first,
        )
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        xp, weight, out_hw, rows_first = ctx.xp, ctx.weight, ctx.out_hw, ctx.rows_first
        stride, dilation, groups = ctx.stride, ctx.dilation, ctx.groups
        needs = ctx.needs_input_grad
        o_ch, c_per_group, kr, ks = weight.shape
        og, k = o_ch // groups, kr * ks * c_per_group
        bias_grad = len(needs) > 2 and needs[2]
        g_nhwc = channels_last(grad_out)  # free when channels-last like our output
        gxp = None
        if needs[0]:
            nhwc = (xp.shape[0], *xp.shape[2:], xp.shape[1]) if rows_first else xp.shape
            gxp = np.zeros(nhwc, grad_out.dtype)
        groups_of = _group_slices(groups, og, c_per_group)

        def grads(part: slice) -> np.ndarray | None:
            """Adds some samples' ∂C/∂x̃ into gxp; returns their [∂C/∂W_col | ∂C/∂b] when wanted:
            δ_colᵀ [X_col | 1], the bias gradient coming with the weight GEMM."""
            chunks = batch_chunks(part, out_hw[0] * out_hw[1] * k * xp.itemsize)
            gwb = np.zeros((o_ch, k + bias_grad), grad_out.dtype) if needs[1] else None
            buffer = cols_buffer(chunks, out_hw, k, xp.dtype, bias_grad, rows_first) if needs[1] else None
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
        gx = unpad_to_nchw(gxp, ctx.padding, ctx.x_shape[2:]) if gxp is not None else None
        gw = gb = None
        if needs[1]:
            gwb = per_part[0] if len(per_part) == 1 else np.sum(per_part, axis=0)
            gw = (
                gwb[:, :k].reshape(weight.shape)
                if rows_first
                else gwb[:, :k].reshape(o_ch, kr, ks, c_per_group).transpose(0, 3, 1, 2)
            )
        if bias_grad:
            if needs[1]:
                gb = gwb[:, k].copy()
            else:
                g_rows = g_nhwc.reshape(-1, o_ch)
                gb = np.ones(g_rows.shape[0], g_rows.dtype) @ g_rows  # Σ_{n,p,q} as a BLAS GEMV: 3-4× faster than .sum
        return gx, gw, gb


def _weight_rows(weight: np.ndarray, bias: np.ndarray | None, rows_first: bool) -> np.ndarray:
    """W_col (O, k) in the column order of im2col, (r, s, c), or of im2row, (c, r, s) (torch's
    own order, a free reshape), with the bias appended as column k (it meets the ones column)."""
    o = weight.shape[0]
    w = weight.reshape(o, -1) if rows_first else weight.transpose(0, 2, 3, 1).reshape(o, -1)
    return w if bias is None else np.concatenate([w, bias.reshape(o, 1).astype(w.dtype, copy=False)], axis=1)
