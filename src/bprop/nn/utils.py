"""Gradient utilities with torch's names: ``nn.utils.clip_grad_norm_``, ``clip_grad_value_``."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from bprop.tensor import Tensor


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale every ``.grad`` in place so that their joint norm is at most ``max_norm``.

    The joint norm is ‖(‖g₁‖, ‖g₂‖, …)‖ over all gradients as one vector (the max for
    norm_type=inf); when it exceeds max_norm every gradient is multiplied by
    max_norm/(norm + 1e−6), which keeps the direction of the update and bounds its length — the
    usual cure for the exploding gradients of backpropagation through time. Returns the norm
    before clipping, as torch does.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p._grad._data for p in params if p._grad is not None]
    if not grads:
        return Tensor(np.zeros((), np.float32))
    norm_type = float(norm_type)
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
        if any(np.isnan(g).any() for g in grads):
            total = math.nan  # np.max propagates NaN per gradient, Python's max does not across them
    else:
        per_tensor = [np.linalg.norm(g.reshape(-1).astype(np.float64), ord=norm_type) for g in grads]
        total = float(np.linalg.norm(np.array(per_tensor), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({total}), "
            "so it cannot be clipped; pass error_if_nonfinite=False to scale them by it anyway"
        )
    coefficient = max_norm / (total + 1e-6)
    if not coefficient >= 1.0:  # NaN too: as torch, a NaN norm makes every gradient NaN
        for g in grads:
            g *= np.asarray(coefficient, dtype=g.dtype)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clip every ``.grad`` in place to [−clip_value, clip_value], element by element.

    Unlike clip_grad_norm_ this changes the update's direction (large components are cut, small
    ones kept). ``foreach`` picks torch's kernel and is accepted for its sake.
    """
    del foreach
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    bound = float(clip_value)
    for p in params:
        if p.grad is not None:
            g = np.asarray(p.grad)
            np.clip(g, -bound, bound, out=g)
