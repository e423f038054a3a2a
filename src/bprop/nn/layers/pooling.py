"""Pooling layers over ops.pooling (no parameters, no gradient math here): MaxPool2d, AvgPool2d,
their adaptive forms and MaxUnpool2d, each taking (N, C, H, W) or unbatched (C, H, W) input."""

from __future__ import annotations

from typing import Any

from bprop.nn import functional as F
from bprop.nn.module import Module
from bprop.ops.conv import pair
from bprop.tensor import Tensor


def _check_windows(layer: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> None:
    """Fail when the model is built, not at its first batch."""
    kernel = pair(kernel_size, "kernel_size")
    steps = kernel if stride is None else pair(stride, "stride")
    pads, spread = pair(padding, "padding"), pair(dilation, "dilation")
    if min(kernel) < 1 or min(steps) < 1 or min(spread) < 1:
        raise ValueError(f"{layer}: kernel_size {kernel}, stride {steps} and dilation {spread} must be at least 1")
    span = [d * (k - 1) + 1 for k, d in zip(kernel, spread)]
    if min(pads) < 0 or 2 * pads[0] > span[0] or 2 * pads[1] > span[1]:
        raise ValueError(f"{layer}: padding {pads} should be between 0 and half the kernel {kernel}")


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        _check_windows(self.name(), kernel_size, stride, padding, dilation)

    def name(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size})"

    def pool(self, x: Tensor) -> Any:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Any:
        try:
            return self.pool(x)
        except ValueError as err:
            raise ValueError(f"{self.name()}: {err}") from None

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y = the maximum of each kernel window (padding is never a candidate); ``dilation`` spaces
    the taps, ``ceil_mode`` keeps partial windows at the edges, ``return_indices`` also returns
    where each maximum sits (for MaxUnpool2d). See ops.pooling.MaxPool2d."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__(kernel_size, stride, padding, dilation)
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def pool(self, x: Tensor) -> Any:
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(_Pool2d):
    """y = the mean of each kernel window, padding counted in the divisor as torch's default
    count_include_pad=True; ``divisor_override`` replaces the divisor. See ops.pooling.AvgPool2d."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input's size (an int, or a pair
    whose None keeps that input dim); see ops.pooling.AdaptiveAvgPool2d."""

    def __init__(self, output_size: Any):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size``; see ops.pooling.AdaptiveMaxPool2d."""

    def __init__(self, output_size: Any, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Puts each value of a max pooling back at its index, zeros elsewhere: ``unpool(y, indices)``
    with ``y, indices = MaxPool2d(..., return_indices=True)(x)``; see ops.pooling.MaxUnpool2d."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
