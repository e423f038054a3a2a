"""Pooling layers over ops.conv's MaxPool2d and AvgPool2d."""

from __future__ import annotations

from typing import Any

from bprop.nn import functional as F
from bprop.nn.module import Module
from bprop.tensor import Tensor


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def _check(self, x: Tensor) -> None:
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__}(kernel_size={self.kernel_size}): expected input "
                             f"(N, C, H, W), got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
