"""Convolution, fast: im2col through stride tricks, GEMMs over chunks of the batch
(one per group and chunk), and col2im as a loop over the R·S kernel offsets (never over samples
or pixels).

Notation of the study notes (docs/cnn-backprop.md has the full derivation): input x of
C channels and H×W pixels, kernel R×S, stride (u, v), padding (a, b), dilation (d₁, d₂),
output P×Q with P = ⌊(H + 2a − d₁(R − 1) − 1)/u⌋ + 1 (= ⌊(H + 2a − R)/u⌋ + 1 without dilation).

Layout: internally channels-last. The input is viewed as (N, H, W, C) (free when it came from
another conv), padded, and its windows are taken as a strided view (N, P, Q, R, S, C) — im2col
is one copy of that view into a (N·P·Q, R·S·C) matrix, done a few samples at a time into a
reused buffer of at most COLS_CHUNK_BYTES. The GEMMs write the (N·P·Q, O) result in place, and
it is returned as an (N, O, P, Q) view: logically NCHW like torch, physically NHWC, so the next
layer's im2col reads contiguous channels and no transpose is ever copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from bprop.autograd import Context, Function

# The im2col matrix is never built whole: the batch goes through in chunks whose columns fit in
# this many bytes, copied into one reused buffer, and backward rebuilds them rather than keeping
# X_col. Memory stays O(chunk) instead of O(N·P·Q·R·S·C) (38 MB for the CIFAR benchmark's second
# conv), and it is faster too: each chunk is still in cache for its GEMM, and no multi-MB buffer
# is page-faulted in at every step. 4 MiB measured best on the benchmark (2 to 16 are close).
COLS_CHUNK_BYTES = 4 * 2**20


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


def to_nhwc_padded(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """(N, C, H, W) → padded (N, H + 2a, W + 2b, C); a view when there is no padding."""
    nhwc = x.transpose(0, 2, 3, 1)
    a, b = padding
    if a == 0 and b == 0:
        return nhwc
    out = np.full((x.shape[0], x.shape[2] + 2 * a, x.shape[3] + 2 * b, x.shape[1]), value, dtype=x.dtype)
    out[:, a : a + x.shape[2], b : b + x.shape[3], :] = nhwc
    return out


def windows(
    xp: np.ndarray,
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """Strided view (N, P, Q, R, S, C) of a padded NHWC array: [n, p, q, r, s, c] =
    xp[n, p·u + r·d₁, q·v + s·d₂, c]. No copy."""
    sn, sh, sw, sc = xp.strides
    shape = (xp.shape[0], out_hw[0], out_hw[1], kernel[0], kernel[1], xp.shape[3])
    strides = (sn, stride[0] * sh, stride[1] * sw, dilation[0] * sh, dilation[1] * sw, sc)
    return as_strided(xp, shape, strides, writeable=False)


def im2col(
    x_rows: np.ndarray,
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    buffer: np.ndarray,
) -> np.ndarray:
    """X_col of a few samples, (n·P·Q, R·S·C), copied into the first rows of a reused buffer
    of shape (chunk, P, Q, R, S, C)."""
    view = windows(x_rows, kernel, out_hw, stride, dilation)
    cols = buffer[: view.shape[0]]
    np.copyto(cols, view)
    return cols.reshape(-1, kernel[0] * kernel[1] * view.shape[-1])


def add_col2im(
    delta: np.ndarray,
    weight: np.ndarray,
    gxp: np.ndarray,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> None:
    """gxp += col2im(δ_col W_col), fused: one GEMM and one strided add per kernel offset.

    Kernel offset (r, s) sends δ[n, :, p, q]·W[:, :, r, s] to pixel (p·u + r·d₁, q·v + s·d₂),
    so for every offset the whole batch's contribution is δ_col W[:, :, r, s] (a GEMM whose
    result is contiguous) added to one strided slice of the padded image. Same flops as
    building δ_col W_col first, without its R·S-times-larger scattered buffer.
    """
    (p, q), (u, v) = out_hw, stride
    taps = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (R, S, O, C): one contiguous matrix per offset
    # one buffer for all R·S products: a fresh multi-MB array per offset costs page faults
    contribution = np.empty((delta.shape[0], weight.shape[1]), np.result_type(delta, weight))
    for r in range(weight.shape[2]):
        for s in range(weight.shape[3]):
            top, left = r * dilation[0], s * dilation[1]
            np.matmul(delta, taps[r, s], out=contribution)
            gxp[:, top : top + u * (p - 1) + 1 : u, left : left + v * (q - 1) + 1 : v, :] += contribution.reshape(
                -1, p, q, weight.shape[1]
            )


def unpad_to_nchw(xp: np.ndarray, padding: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    a, b = padding
    return xp[:, a : a + hw[0], b : b + hw[1], :].transpose(0, 3, 1, 2)


def _chunks(n: int, bytes_per_sample: int) -> list[slice]:
    """Batch slices whose im2col columns fit in COLS_CHUNK_BYTES (at least one sample each)."""
    size = max(1, COLS_CHUNK_BYTES // max(bytes_per_sample, 1))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _cols_buffer(
    chunks: list[slice], out_hw: tuple[int, int], kernel: tuple[int, int], channels: int, dtype: Any
) -> np.ndarray:
    """The reused im2col buffer (chunk, P, Q, R, S, C) for the largest (the first) chunk."""
    return np.empty((chunks[0].stop if chunks else 0, *out_hw, *kernel, channels), dtype)


class Conv2d(Function):
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
        n, (p, q), og = x.shape[0], out_hw, o_ch // groups
        xp = to_nhwc_padded(x, padding)
        w_cols = weight.transpose(0, 2, 3, 1)  # (O, R, S, C/g): the order of the im2col columns
        chunks = _chunks(n, p * q * kr * ks * c_per_group * x.itemsize)
        buffer = _cols_buffer(chunks, out_hw, (kr, ks), c_per_group, x.dtype)
        out = np.empty((n, p, q, o_ch), np.result_type(x, weight))
        for g in range(groups):
            w2, out_g = w_cols[g * og : (g + 1) * og].reshape(og, -1), out[..., g * og : (g + 1) * og]
            for rows in chunks:
                z = out_g[rows].reshape(-1, og)  # a view: the GEMM writes straight into the output
                np.matmul(
                    im2col(
                        xp[rows, ..., g * c_per_group : (g + 1) * c_per_group],
                        (kr, ks),
                        out_hw,
                        stride,
                        dilation,
                        buffer,
                    ),
                    w2.T,
                    out=z,
                )
                if bias is not None:
                    z += bias[g * og : (g + 1) * og]  # while the chunk is in cache
        ctx.xp, ctx.weight, ctx.x_shape, ctx.out_hw, ctx.chunks = xp, weight, x.shape, out_hw, chunks
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        xp, weight, out_hw, chunks = ctx.xp, ctx.weight, ctx.out_hw, ctx.chunks
        stride, dilation, groups = ctx.stride, ctx.dilation, ctx.groups
        needs = ctx.needs_input_grad
        o_ch, c_per_group, kr, ks = weight.shape
        og = o_ch // groups
        g_nhwc = np.ascontiguousarray(grad_out.transpose(0, 2, 3, 1))  # free when channels-last like our output
        gw = np.zeros((o_ch, kr, ks, c_per_group), grad_out.dtype) if needs[1] else None
        buffer = _cols_buffer(chunks, out_hw, (kr, ks), c_per_group, xp.dtype) if needs[1] else None
        gxp = np.zeros(xp.shape, grad_out.dtype) if needs[0] else None
        for g in range(groups):
            outs, channels = slice(g * og, (g + 1) * og), slice(g * c_per_group, (g + 1) * c_per_group)
            for rows in chunks:
                delta = g_nhwc[rows, ..., outs].reshape(-1, og)  # (n·P·Q, O/g) rows of δ_col
                if gw is not None:
                    cols = im2col(xp[rows, ..., channels], (kr, ks), out_hw, stride, dilation, buffer)
                    gw[outs] += (delta.T @ cols).reshape(og, kr, ks, c_per_group)
                if gxp is not None:
                    add_col2im(delta, weight[outs], gxp[rows, ..., channels], out_hw, stride, dilation)
        gx = unpad_to_nchw(gxp, ctx.padding, ctx.x_shape[2:]) if gxp is not None else None
        gb = None
        if len(needs) > 2 and needs[2]:
            g_rows = g_nhwc.reshape(-1, o_ch)
            gb = np.ones(g_rows.shape[0], g_rows.dtype) @ g_rows  # Σ_{n,p,q} as a BLAS GEMV: 3-4× faster than .sum
        return gx, (gw.transpose(0, 3, 1, 2) if gw is not None else None), gb
