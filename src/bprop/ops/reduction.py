"""Reductions over one, several or all dimensions (``dim``, ``keepdim`` as in torch).

A reduction's backward first puts back the reduced axes (size 1) so that ∂C/∂y broadcasts
against x; each op then multiplies by its local derivative ∂y/∂x_i.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bprop.autograd import ArrayFunction, Context


def normalise_dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Reduced axes as non-negative ints. As in torch, None and () mean all dims, and a 0-d tensor
    accepts dim 0 or −1 with nothing to reduce. Raises on an axis out of range."""
    dims = (dim,) if isinstance(dim, (int, np.integer)) else () if dim is None else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"dim {d} is out of range for a tensor with {ndim} dimensions "
                f"(expected one in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
    if not dims or ndim == 0:
        return tuple(range(ndim))
    return tuple(sorted({int(d) % ndim for d in dims}))


def _expand_back(grad: np.ndarray, axes: tuple[int, ...], keepdim: bool, ndim: int) -> np.ndarray:
    """∂C/∂y reshaped with the reduced axes of size 1, ready to broadcast against x."""
    if keepdim or ndim == 0:
        return grad
    return np.expand_dims(grad, axes) if axes else grad


def accurate_sum(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """np.sum, accumulated in float64 for float32 when the last axis is kept: NumPy sums the other
    axes one element after another (relative error ~n·ε, 1e-5 over 10^5 rows) rather than
    pairwise along the contiguous one (~ε·log n, torch's 1e-7)."""
    if x.dtype == np.float32 and axes and x.ndim - 1 not in axes:
        return np.sum(x, axis=axes, keepdims=keepdims, dtype=np.float64).astype(np.float32)
    return np.sum(x, axis=axes, keepdims=keepdims)


class Sum(ArrayFunction):
    """y = Σ_{i∈dims} x_i.   ∂y/∂x_i = 1: every x_i receives ∂C/∂y of its slice."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int | Sequence[int] | None, keepdim: bool) -> np.ndarray:
        axes = normalise_dims(dim, x.ndim)
        ctx.x_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return accurate_sum(x, axes, keepdim)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        shape = ctx.x_shape
        return (np.broadcast_to(_expand_back(grad_out, ctx.axes, ctx.keepdim, len(shape)), shape),)


class Mean(ArrayFunction):
    """y = (1/N) Σ_{i∈dims} x_i with N the number of reduced elements.   ∂y/∂x_i = 1/N."""

    promotion = "floating"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int | Sequence[int] | None, keepdim: bool) -> np.ndarray:
        axes = normalise_dims(dim, x.ndim)
        count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        ctx.x_shape, ctx.axes, ctx.keepdim, ctx.count = x.shape, axes, keepdim, count
        with np.errstate(invalid="ignore", divide="ignore"):  # mean of nothing is nan, as torch
            return accurate_sum(x, axes, keepdim) / np.asarray(count, dtype=x.dtype)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        shape = ctx.x_shape
        scaled = _expand_back(grad_out, ctx.axes, ctx.keepdim, len(shape)) / max(ctx.count, 1)
        return (np.broadcast_to(scaled.astype(grad_out.dtype, copy=False), shape),)


class _Extreme(ArrayFunction):
    """y = max_i x_i (or min).   ∂y/∂x_i = 1 at the extreme, 0 elsewhere; ties share the
    gradient equally (the subgradient torch's amax uses), so Σ_i ∂y/∂x_i = 1 still."""

    reducer = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx: Context, x: np.ndarray, dim: int | Sequence[int] | None, keepdim: bool) -> np.ndarray:
        axes = normalise_dims(dim, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{cls.__name__.lower()}(): cannot reduce an empty dim (shape {x.shape}, dims {axes})")
        out = cls.reducer(x, axis=axes, keepdims=True)
        ctx.x, ctx.out, ctx.axes, ctx.keepdim = x, out, axes, keepdim
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, axes = ctx.x, ctx.axes
        mask = x == ctx.out
        share = mask / mask.sum(axis=axes, keepdims=True, dtype=x.dtype)  # x's dtype: no float64 detour
        return ((_expand_back(grad_out, axes, ctx.keepdim, x.ndim) * share).astype(x.dtype, copy=False),)


class Max(_Extreme):
    __doc__ = _Extreme.__doc__
    reducer = staticmethod(np.max)


class Min(_Extreme):
    __doc__ = _Extreme.__doc__
    reducer = staticmethod(np.min)


def _centred(x: np.ndarray, dim: int | Sequence[int] | None, correction: int) -> tuple:
    """x − μ over the reduced axes, those axes, and N − c (0 when N − c ≤ 0: the statistic is then
    nan or ∞, as torch's)."""
    axes = normalise_dims(dim, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return x - accurate_sum(x, axes, True) / count, axes, max(count - correction, 0)


class Var(ArrayFunction):
    """y = Σ_i (x_i − μ)² / (N − c), c the correction (1: unbiased, torch's default).

    ∂y/∂x_i = 2(x_i − μ)/(N − c): the term through μ vanishes because Σ_i (x_i − μ) = 0.
    """

    promotion = "floating"

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, dim: int | Sequence[int] | None, keepdim: bool, correction: int
    ) -> np.ndarray:
        centred, axes, denom = _centred(x, dim, correction)
        ctx.centred, ctx.axes, ctx.keepdim, ctx.denom = centred, axes, keepdim, denom
        with np.errstate(invalid="ignore", divide="ignore"):
            return accurate_sum(centred * centred, axes, keepdim) / denom

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        centred, denom = ctx.centred, ctx.denom
        local = centred * (2.0 / denom) if denom > 0 else np.full_like(centred, np.nan)
        gx = _expand_back(grad_out, ctx.axes, ctx.keepdim, centred.ndim) * local
        return (gx.astype(centred.dtype, copy=False),)


class Std(ArrayFunction):
    """y = √(Σ_i (x_i − μ)² / (N − c)), torch's std (c = 1 by default).

    ∂y/∂x_i = (x_i − μ)/((N − c)·y): Var's 2(x_i − μ)/(N − c) times √'s 1/(2y).
    At y = 0 (a constant slice) that is 0/0: there std is a cone, y(x + εv) = |ε|·y(v), with no
    derivative; its centred difference (y(x + εv) − y(x − εv))/2ε is 0 for every v, and torch
    gives 0 too, so ∂y/∂x = 0 there. (√ of Var would give 0·∞ = NaN and poison every gradient
    upstream of a constant feature.)
    """

    promotion = "floating"

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, dim: int | Sequence[int] | None, keepdim: bool, correction: int
    ) -> np.ndarray:
        centred, axes, denom = _centred(x, dim, correction)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.sqrt(accurate_sum(centred * centred, axes, True) / denom)
        ctx.centred, ctx.out, ctx.axes, ctx.keepdim, ctx.denom = centred, out, axes, keepdim, denom
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        centred, out = ctx.centred, ctx.out
        with np.errstate(invalid="ignore", divide="ignore"):  # N − c ≤ 0: y and ∂y/∂x are nan, as torch
            scale = np.where(out == 0, np.zeros((), out.dtype), 1.0 / (ctx.denom * out))
        gx = _expand_back(grad_out, ctx.axes, ctx.keepdim, centred.ndim) * (centred * scale)
        return (gx.astype(centred.dtype, copy=False),)


class Norm(ArrayFunction):
    """y = ‖x‖_p = (Σ_i |x_i|^p)^(1/p) over the reduced dims, or max_i |x_i| for p = ∞ (torch's
    ``vector_norm``).

    ∂y/∂x_i = sign(x_i)·|x_i|^(p−1) / y^(p−1)   (p = 2: x_i / y;  p = 1: sign(x_i)).
    At y = 0 the norm is a cone, ‖εv‖ = |ε|·‖v‖, with no derivative; its centred difference is 0
    in every direction and torch gives 0 there, so ∂y/∂x = 0. For p = ∞, ∂y/∂x_i = sign(x_i) at the
    entries where |x_i| = y, ties sharing it equally (as amax).
    """

    promotion = "floating"  # torch refuses the norm of an integer tensor

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, p: float, dim: int | Sequence[int] | None, keepdim: bool) -> np.ndarray:
        if not p > 0:
            raise ValueError(f"norm: p must be positive or inf, got {p}")
        axes = normalise_dims(dim, x.ndim)
        magnitude = np.abs(x)
        if p == np.inf:
            if any(x.shape[a] == 0 for a in axes):
                raise ValueError(f"norm(p=inf): cannot reduce an empty dim (shape {x.shape}, dims {axes})")
            out = np.max(magnitude, axis=axes, keepdims=True)
        elif p == 2:
            out = np.sqrt(accurate_sum(x * x, axes, True))
        elif p == 1:
            out = accurate_sum(magnitude, axes, True)
        else:
            out = accurate_sum(magnitude**p, axes, True) ** (1 / p)
        ctx.x, ctx.out, ctx.p, ctx.axes, ctx.keepdim = x, out, p, axes, keepdim
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, out, p = ctx.x, ctx.out, ctx.p
        zero = np.zeros((), x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            if p == np.inf:
                hit = (np.abs(x) == out) | np.isnan(x)
                local = np.sign(x) * hit / hit.sum(axis=ctx.axes, keepdims=True, dtype=x.dtype)
            elif p == 1:
                local = np.sign(x)
            elif p == 2:
                local = np.where(out == 0, zero, x / out)
            else:
                local = np.where(out == 0, zero, np.sign(x) * np.abs(x) ** (p - 1) / out ** (p - 1))
        gx = _expand_back(grad_out, ctx.axes, ctx.keepdim, x.ndim) * local
        return (gx.astype(x.dtype, copy=False),)
