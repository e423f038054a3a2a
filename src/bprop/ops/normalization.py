"""Batch normalisation per channel: over axis 0 of (N, C), over (0, 2) of (N, C, L) and over
(0, 2, 3) of (N, C, H, W) — one op for BatchNorm1d and BatchNorm2d, with no layout copies.

Training (m = number of values per channel, statistics of the batch):
    μ = (1/m) Σ x,  σ² = (1/m) Σ (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β
Backward, with g = ∂C/∂y and every Σ over the m values of a channel:
    ∂C/∂β = Σ g,   ∂C/∂γ = Σ g·x̂      (two separate gradients: a study note writes "dγ/dβ",
                                        which is not a quantity of this computation)
    ∂C/∂x̂ = g·γ
    ∂C/∂x = (1/(m·√(σ² + ε))) · (m·∂C/∂x̂ − Σ ∂C/∂x̂ − x̂·Σ(∂C/∂x̂·x̂))
The last line is the compact form: x influences y directly and through μ and σ²; summing the
three paths, ∂μ/∂x = 1/m and ∂σ²/∂x = 2(x − μ)/m give the two subtracted means.

Evaluation uses fixed running statistics, so y is affine in x: ∂C/∂x = g·γ/√(var_run + ε).
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import Context, Function


def channel_axes(x: np.ndarray, op: str = "batch_norm") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(axes reduced over, shape that broadcasts a per-channel vector against x)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C), (N, C, L) or (N, C, H, W), got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    return axes, (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNormTrain(Function):
    """Batch statistics, fused backward (see the module docstring for the derivation).

    When ``running_mean``/``running_var`` arrays are given they are updated in place, as torch
    does: running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance
    σ²·m/(m − 1) for running_var.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None,
                momentum: float = 0.1, eps: float = 1e-5) -> np.ndarray:
        axes, shape = channel_axes(x)
        m = x.size // x.shape[1]
        if m < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = np.mean(centred * centred, axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + np.asarray(eps, x.dtype))
        x_hat = centred
        x_hat *= inv_std
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += (momentum * m / (m - 1)) * var.reshape(-1)
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.meta = (axes, shape, m)
        out = x_hat * weight.reshape(shape) if weight is not None else x_hat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        x_hat, inv_std, weight = ctx.saved
        axes, shape, m = ctx.meta
        needs = ctx.needs_input_grad
        g_gamma = np.sum(grad * x_hat, axis=axes) if needs[1] else None
        g_beta = grad.sum(axis=axes) if needs[2] else None
        gx = None
        if needs[0]:
            g_hat = grad * weight.reshape(shape) if weight is not None else grad
            sum_g = g_hat.sum(axis=axes, keepdims=True)
            sum_gx = np.sum(g_hat * x_hat, axis=axes, keepdims=True)
            gx = g_hat * m
            gx -= sum_g
            gx -= x_hat * sum_gx
            gx *= inv_std / m
        return gx, g_gamma, g_beta, None, None


class BatchNormEval(Function):
    """y = γ·(x − μ_run)/√(var_run + ε) + β with fixed statistics.

    ∂C/∂x = g·γ/√(var_run + ε),  ∂C/∂γ = Σ g·x̂,  ∂C/∂β = Σ g.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                running_mean: np.ndarray, running_var: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        axes, shape = channel_axes(x)
        inv_std = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype).reshape(shape)
        x_hat = (x - running_mean.astype(x.dtype).reshape(shape)) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.meta = (axes, shape)
        out = x_hat * weight.reshape(shape) if weight is not None else x_hat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        x_hat, inv_std, weight = ctx.saved
        axes, shape = ctx.meta
        needs = ctx.needs_input_grad
        gx = None
        if needs[0]:
            scale = inv_std * weight.reshape(shape) if weight is not None else inv_std
            gx = grad * scale
        g_gamma = np.sum(grad * x_hat, axis=axes) if needs[1] else None
        g_beta = grad.sum(axis=axes) if needs[2] else None
        return gx, g_gamma, g_beta, None, None
