"""Pooling layers over ops.pooling's MaxPool2d and AvgPool2d (no parameters, no gradient math here)."""

from __future__ import annotations

from typing import Any, Callable

from bprop.nn import functional as F
from bprop.nn.module import Module
from bprop.ops.conv import pair
from bprop.tensor import Tensor


class _Pool2d(Module):
    pool: Callable[..., Tensor]

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        kernel = pair(kernel_size, "kernel_size")
        steps = kernel if stride is None else pair(stride, "stride")
        pads = pair(padding, "padding")
        if min(kernel) < 1 or min(steps) < 1:  # fail when the model is built, not at its first batch
            raise ValueError(f"{self.name()}: kernel_size {kernel} and stride {steps} must be at least 1")
        if min(pads) < 0 or 2 * pads[0] > kernel[0] or 2 * pads[1] > kernel[1]:
            raise ValueError(f"{self.name()}: padding {pads} should be between 0 and half the kernel {kernel}")

    def name(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size})"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"{self.name()}: expected input (N, C, H, W), got {tuple(x.shape)}")
        try:
            return type(self).pool(x, self.kernel_size, self.stride, self.padding)
        except ValueError as err:
            raise ValueError(f"{self.name()}: {err}") from None

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y = the maximum of each kernel window (padding is never a candidate); see ops.pooling.MaxPool2d."""

    pool = F.max_pool2d


class AvgPool2d(_Pool2d):
    """y = the mean of each kernel window, padding counted in the divisor as torch's default
    count_include_pad=True; see ops.pooling.AvgPool2d."""

    pool = F.avg_pool2d
