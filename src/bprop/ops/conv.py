"""Convolution, fast: im2col (or im2row) through stride tricks, GEMMs over chunks of the batch
(one per group and chunk), and col2im as a loop over the R·S kernel offsets (never over samples
or pixels).

Notation of the study notes (docs/cnn-backprop.md has the full derivation): input x of
C channels and H×W pixels, kernel R×S, stride (u, v), padding (a, b), dilation (d₁, d₂),
output P×Q with P = ⌊(H + 2a − d₁(R − 1) − 1)/u⌋ + 1 (= ⌊(H + 2a − R)/u⌋ + 1 without dilation).

The GEMMs, the im2col/im2row gathers, the batch chunks and the split over bprop's threads are
kernels (ops/kernels/conv_gemm.py, im2col.py, and conv_banded.py for the thin layers that multiply
whole image rows instead): this file is the op's math and its checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.kernels.conv_gemm import conv_backward_gemms, conv_forward_gemms
from bprop.ops.kernels.im2col import rows_innermost
from bprop.ops.kernels.layout import channels_last, pad_nchw, to_nhwc_padded, unpad_to_nchw


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
        rows_first = groups == 1 and rows_innermost(x)
        xp = pad_nchw(x, padding) if rows_first else to_nhwc_padded(x, padding)
        out = conv_forward_gemms(xp, weight, bias, groups, out_hw, stride, dilation, rows_first)
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
        weight, needs = ctx.weight, ctx.needs_input_grad
        want_b = len(needs) > 2 and needs[2]
        gxp, gw, gb = conv_backward_gemms(
            ctx.xp, weight, channels_last(grad_out), ctx.groups, ctx.out_hw, ctx.stride, ctx.dilation,
            ctx.rows_first, needs[0], needs[1], want_b,
        )  # fmt: skip
        gx = unpad_to_nchw(gxp, ctx.padding, ctx.x_shape[2:]) if gxp is not None else None
        return gx, gw, gb
