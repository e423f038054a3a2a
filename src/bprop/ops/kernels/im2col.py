"""im2col and im2row (the windows of a convolution's input as the rows or columns of a matrix,
gathered through stride tricks a few samples at a time into a reused workspace) and col2im
fused with its GEMM. ops/conv.py explains the layouts and when each is used."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops.kernels.layout import strided_view
from bprop.runtime import workspace

# The im2col matrix is never built whole: the batch goes through in chunks whose columns fit in
# this many bytes, copied into one reused buffer, and backward rebuilds them rather than keeping
# X_col. Memory stays O(chunk) instead of O(N·P·Q·R·S·C) (38 MB for the CIFAR benchmark's second
# conv), and it is faster too: each chunk is still in cache for its GEMM, and no multi-MB buffer
# is page-faulted in at every step. 4 MiB measured best on the benchmark (2 to 16 are close).
COLS_CHUNK_BYTES = 4 * 2**20


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
    return strided_view(xp, shape, strides)


def im2col(
    x_rows: np.ndarray,
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    buffer: np.ndarray,
) -> np.ndarray:
    """X_col of a few samples of a padded NHWC input, (n·P·Q, R·S·C), copied into the first
    rows of a reused (rows, R·S·C [+ 1]) buffer; a last column of ones in the buffer, if any,
    stays (it multiplies the bias row of the weight matrix)."""
    view = windows(x_rows, kernel, out_hw, stride, dilation)
    k = kernel[0] * kernel[1] * view.shape[-1]
    cols = buffer[: view.shape[0] * out_hw[0] * out_hw[1]]
    np.copyto(cols[:, :k].reshape(view.shape), view)
    return cols


def im2row(
    x_rows: np.ndarray,
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    buffer: np.ndarray,
) -> np.ndarray:
    """X_colᵀ of a few samples of a padded input whose W axis is innermost in memory (NCHW, as
    data arrives): (C·R·S [+ 1], n·P·Q), copied from the strided view [c, r, s, n, p, q] =
    x̃[n, c, p·u + r·d₁, q·v + s·d₂], whose innermost runs are image rows. For thin inputs (1 or 3
    channels) this is 5–20× faster than the channels-last copy, whose runs are only S·C long."""
    sn, sc, sh, sw = x_rows.strides
    (p, q), (u, v) = out_hw, stride
    n, c = x_rows.shape[:2]
    shape = (c, kernel[0], kernel[1], n, p, q)
    view = strided_view(x_rows, shape, (sc, dilation[0] * sh, dilation[1] * sw, sn, u * sh, v * sw))
    rows = buffer[:, : n * p * q]
    np.copyto(rows[: c * kernel[0] * kernel[1]].reshape(shape), view)
    return rows


def x_col(
    xp: np.ndarray,
    rows: slice,
    channels: slice,
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    buffer: np.ndarray,
    rows_first: bool,
) -> np.ndarray:
    """X_col (n·P·Q, R·S·C [+ 1]) of the samples ``rows`` and the group's ``channels``, gathered
    in the input's layout: im2row's X_colᵀ seen transposed (a view; only used without groups),
    or im2col's X_col."""
    if rows_first:
        return im2row(xp[rows], kernel, out_hw, stride, dilation, buffer).T
    return im2col(xp[rows, ..., channels], kernel, out_hw, stride, dilation, buffer)


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


def batch_chunks(part: slice, bytes_per_sample: int) -> list[slice]:
    """Slices of a part of the batch whose im2col columns fit in COLS_CHUNK_BYTES (at least one
    sample each)."""
    size = max(1, COLS_CHUNK_BYTES // max(bytes_per_sample, 1))
    return [slice(i, min(i + size, part.stop)) for i in range(part.start, part.stop, size)]


def cols_buffer(
    chunks: list[slice],
    rows_per_sample: int,
    k: int,
    dtype: Any,
    ones: bool,
    transposed: bool,
) -> np.ndarray:
    """The im2col buffer of the largest (the first) chunk: (rows, k [+ 1]), or its transpose
    (k [+ 1], rows) for im2row, with the extra column (row) of ones set when ``ones``. A sample
    has P·Q rows in X_col, P in conv_banded's X_rows."""
    rows = (chunks[0].stop - chunks[0].start if chunks else 0) * rows_per_sample
    if transposed:
        buffer = workspace.scratch((k + ones, rows), dtype)
        if ones:
            buffer[k] = 1
    else:
        buffer = workspace.scratch((rows, k + ones), dtype)
        if ones:
            buffer[:, k] = 1
    return buffer


def rows_innermost(x: np.ndarray) -> bool:
    """Whether x (N, C, H, W) has its W axis innermost in memory (NCHW, as data comes), so that
    im2row reads whole image rows; channels-last inputs (our conv and pool outputs) take im2col."""
    return x.shape[1] == 1 or (x.strides[3] == x.itemsize and abs(x.strides[1]) > x.itemsize)
