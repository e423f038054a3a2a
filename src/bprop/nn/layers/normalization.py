"""BatchNorm1d and BatchNorm2d (γ, β and running statistics around the batch-norm op), and
LayerNorm and GroupNorm (per-sample statistics, no running ones).

The op (bprop.ops.normalization) does the math and, in training, updates the running arrays in
place; the layer chooses the statistics and the momentum. As in torch:
  - training: batch statistics; running = (1 − momentum)·running + momentum·batch, with the
    unbiased batch variance for running_var; momentum=None gives the cumulative average
    (momentum = 1/num_batches_tracked);
  - eval: the running statistics (or batch statistics when track_running_stats=False).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from bprop.nn import functional as F
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor


class _BatchNorm(Module):
    ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: object = np.float32,
        *,
        bias: bool = True,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter(np.ones(num_features, dtype=dtype)) if affine else None)
        use_bias = affine and bias  # torch's bias=False keeps γ and drops β
        self.register_parameter("bias", Parameter(np.zeros(num_features, dtype=dtype)) if use_bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:  # None buffers, as torch: absent from the state dict
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def _check(self, x: Tensor) -> None:
        name = f"{type(self).__name__}({self.num_features})"
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected input {self.layout} with C = {self.num_features}, got shape {tuple(x.shape)}"
            )
        if self.training and x.shape[0] * math.prod(x.shape[2:]) == 1:
            raise ValueError(
                f"{name}: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(x.shape)} (batch statistics need a batch of at least 2; use eval() to "
                "apply the running statistics to a single sample)"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            return F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                training=True,
                momentum=momentum,
                eps=self.eps,
            )
        if self.training or not self.track_running_stats:  # batch statistics, nothing to track
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, training=False, eps=self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Normalise each feature of (N, C), or each channel of (N, C, L), over the batch (and L)."""

    ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Normalise each channel of (N, C, H, W) over the batch and both spatial dims."""

    ranks = (4,)
    layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its trailing ``normalized_shape`` dims, as torch.nn.LayerNorm.

    γ (ones) and β (zeros) have shape ``normalized_shape`` when ``elementwise_affine``
    (``bias=False`` keeps γ only). No running statistics: train and eval compute the same.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: object = np.float32,
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(int(n) < 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive sizes, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.register_parameter("weight", affine)
        use_bias = elementwise_affine and bias
        self.register_parameter("bias", Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if use_bias else None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}): expected input ending in dims {self.normalized_shape}, "
                f"got shape {tuple(x.shape)}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise each sample's channels in ``num_groups`` groups, as torch.nn.GroupNorm.

    Input (N, C, *); γ (ones) and β (zeros) have one entry per channel when ``affine``.
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype: object = np.float32
    ):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels {num_channels} must be divisible by num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.register_parameter("weight", Parameter(np.ones(num_channels, dtype=dtype)) if affine else None)
        self.register_parameter("bias", Parameter(np.zeros(num_channels, dtype=dtype)) if affine else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}): expected input (N, {self.num_channels}, *), "
                f"got shape {tuple(x.shape)}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
