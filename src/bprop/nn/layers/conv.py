"""Conv2d layer: weight (out, in/groups, kh, kw) and bias, torch's default init, through F.conv2d."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.module import Module, Parameter
from bprop.ops.conv import pair
from bprop.tensor import Tensor


class Conv2d(Module):
    """2-D cross-correlation over (N, C, H, W) inputs, torch's Conv2d.

    Init as torch: W ~ U(±1/√fan_in) (kaiming_uniform with a = √5), b ~ U(±1/√fan_in), with
    fan_in = in_channels/groups · kh · kw.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: object = None,
        dtype: object = np.float32,
    ):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels {in_channels} and out_channels {out_channels} must be "
                f"divisible by groups {groups}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = pair(kernel_size, "kernel_size"), pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        if padding not in ("same", "valid") and isinstance(padding, str):
            raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        if device not in (None, "cpu"):
            raise ValueError(f"Conv2d: bprop runs on the CPU only, got device={device!r}")
        if min(self.stride) < 1 or min(self.dilation) < 1 or min(self.kernel_size) < 1:
            raise ValueError(
                f"Conv2d: kernel_size {self.kernel_size}, stride {self.stride} and dilation "
                f"{self.dilation} must be at least 1"
            )
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            fan_in = in_channels // groups * self.kernel_size[0] * self.kernel_size[1]
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        else:
            self.register_parameter("bias", None)

    def name(self) -> str:
        k = self.kernel_size
        return f"Conv2d({self.in_channels}→{self.out_channels}, k={k[0] if k[0] == k[1] else k})"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{self.name()}: expected input (N, {self.in_channels}, H, W) or ({self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        padding = self.padding
        try:
            if self.padding_mode != "zeros":
                x, padding = F.pad(x, self.border_widths(), mode=self.padding_mode), 0
            return F.conv2d(
                x,
                self.weight,
                self.bias,
                stride=self.stride,
                padding=padding,
                dilation=self.dilation,
                groups=self.groups,
            )
        except ValueError as err:
            raise ValueError(f"{self.name()}: {err}") from None

    def border_widths(self) -> tuple[int, int, int, int]:
        """F.pad's (left, right, top, bottom) for a non-zero padding_mode, torch's split for 'same'."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            return (totals[1] // 2, totals[1] - totals[1] // 2, totals[0] // 2, totals[0] - totals[0] // 2)
        (a, b) = self.padding
        return (b, b, a, a)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")
