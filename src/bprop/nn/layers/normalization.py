"""BatchNorm1d and BatchNorm2d: γ, β and running statistics around the batch-norm op.

Running statistics follow torch exactly: running = (1 − momentum)·running + momentum·batch,
with the unbiased batch variance for running_var; momentum=None gives the cumulative average.
"""

from __future__ import annotations

import numpy as np

from bprop.nn import functional as F
from bprop.nn.module import Module, Parameter
from bprop.tensor import Tensor


class _BatchNorm(Module):
    ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: object = np.float32, *,
                 bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:  # bias=False (torch 2.13) keeps the scale γ without the shift β
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def _check(self, x: Tensor) -> None:
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input {self.layout} "
                             f"with C = {self.num_features}, got shape {tuple(x.shape)}")

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        running = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if running or not use_batch_stats else None,
                            self.running_var if running or not use_batch_stats else None,
                            self.weight, self.bias, training=use_batch_stats, momentum=momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalise each feature of (N, C) (or each channel of (N, C, L)) over the batch."""

    ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Normalise each channel of (N, C, H, W) over the batch and both spatial dims."""

    ranks = (4,)
    layout = "(N, C, H, W)"
