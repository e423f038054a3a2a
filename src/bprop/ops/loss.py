"""Elementwise losses, each one fused Function whose backward is the closed form of its
derivative: mean squared error, L1, smooth L1, Huber, KL divergence and binary cross-entropy on
logits. Also the reductions ('mean', 'sum', 'none') every loss shares, forward and backward;
cross-entropy and NLL live in ops/cross_entropy.py.
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.activation import sigmoid_array

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reduce_loss(per_position: np.ndarray, reduction: str, denom: float) -> np.ndarray:
    if reduction == "none":
        return per_position
    total = per_position.sum()
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):  # a mean over nothing is nan, as in torch
        return np.asarray(total / denom, dtype=per_position.dtype)


def grad_per_position(grad: np.ndarray, reduction: str, denom: float, class_axis: bool = True) -> np.ndarray:
    """∂C/∂L_i: grad itself for 'sum', grad/denom for 'mean' (0 when nothing was averaged:
    no position influenced the nan loss), and for 'none' grad per position, as a (N, 1, d1, …)
    column that broadcasts over the class axis when the loss has one."""
    if reduction == "none":
        return np.expand_dims(grad, 1) if class_axis else grad
    if reduction == "mean":
        return grad / denom if denom else np.zeros_like(grad)
    return grad


def _check_same_shape(op: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{op}: input shape {a.shape} and target shape {b.shape} differ; "
            "they must match exactly (no silent broadcasting)"
        )


class MSE(ArrayFunction):
    """C = (1/N) Σ_i (y_i − t_i)²  over all N elements ('mean'; 'sum' drops 1/N; 'none' keeps each term).

    ∂C/∂y_i = 2(y_i − t_i)/N and ∂C/∂t_i = −2(y_i − t_i)/N. (One study note writes |y − t| in this
    derivative; that is wrong: d(u²)/du = 2u keeps the sign, which is what pulls y toward t from
    either side. We follow the mathematics.) Unlike a bare y − t, shapes must match exactly.
    """

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
        check_reduction("mse_loss", reduction)
        t = np.asarray(t)
        _check_same_shape("mse_loss", y, t)
        diff = y - t.astype(y.dtype, copy=False)  # a float64 NumPy target must not upcast a float32 loss
        ctx.diff = diff
        ctx.reduction = reduction
        if reduction == "none":
            return diff * diff
        flat = diff.reshape(-1)
        total = np.dot(flat, flat)  # Σ (y − t)² without a squared temporary
        return reduce_loss(np.asarray(total), reduction, diff.size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        diff = ctx.diff
        gy = diff * (2.0 * grad_per_position(grad_out, ctx.reduction, diff.size, class_axis=False))
        return gy, (-gy if ctx.needs_input_grad[1] else None)


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^{−|x|}), which never overflows."""
    out = np.log1p(np.exp(-np.abs(x)))
    out += np.maximum(x, 0)
    return out


def _elementwise_weight(
    op: str, name: str, value: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    if value is None:
        return np.ones((), dtype)
    try:
        broadcast = np.broadcast_shapes(value.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise ValueError(f"{op}: {name} of shape {value.shape} does not broadcast to the input's shape {shape}")
    return value.astype(dtype, copy=False)


class BCEWithLogits(ArrayFunction):
    """ℓ = −w·[p_w·t·log σ(x) + (1 − t)·log(1 − σ(x))]  (p_w = pos_weight, w = weight; both 1 by default).

    With log σ(x) = −softplus(−x) and log(1 − σ(x)) = −x − softplus(−x) this is, stably,
        ℓ = w·[(1 − t)·x + (1 + (p_w − 1)·t)·softplus(−x)],
    which for p_w = 1 is the familiar max(x, 0) − x·t + log(1 + e^{−|x|}).
        ∂ℓ/∂x = w·[σ(x)·(p_w·t + 1 − t) − p_w·t]     (= w·(σ(x) − t) for p_w = 1)
        ∂ℓ/∂t = w·[p_w·softplus(−x) − softplus(x)]   (= −w·x for p_w = 1)
    """

    float_inputs = "all"

    promotion = "elementwise"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        t: np.ndarray,
        weight: np.ndarray | None = None,
        pos_weight: np.ndarray | None = None,
        reduction: str = "mean",
    ) -> np.ndarray:
        op = "binary_cross_entropy_with_logits"
        check_reduction(op, reduction)
        t = np.asarray(t)
        _check_same_shape(op, x, t)
        t = t.astype(x.dtype, copy=False)  # computed in the logits' dtype, like weight and pos_weight
        w = _elementwise_weight(op, "weight", weight, x.shape, x.dtype)
        pw = None if pos_weight is None else _elementwise_weight(op, "pos_weight", pos_weight, x.shape, x.dtype)
        sp_neg = _softplus(-x)
        loss = (1 + (pw - 1) * t) * sp_neg if pw is not None else sp_neg.copy()
        loss += (1 - t) * x  # not x − x·t: at x = +∞ with t < 1 that is ∞ − ∞ = NaN, torch gives +∞
        if weight is not None:
            loss *= w
        ctx.x, ctx.t, ctx.w, ctx.pw, ctx.sp_neg = x, t, w, pw, sp_neg
        ctx.reduction = reduction
        return reduce_loss(loss, reduction, x.size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, t, w, pw, sp_neg = ctx.x, ctx.t, ctx.w, ctx.pw, ctx.sp_neg
        scale = w * grad_per_position(grad_out, ctx.reduction, x.size, class_axis=False)
        if pw is None:
            gx = sigmoid_array(x) - t
        else:
            pw_t = pw * t
            gx = sigmoid_array(x) * (pw_t + 1 - t) - pw_t
        gx *= scale
        gt = None
        if ctx.needs_input_grad[1]:  # softplus(x) itself: x + softplus(−x) is −∞ + ∞ = NaN at x = −∞
            gt = ((sp_neg * pw if pw is not None else sp_neg) - _softplus(x)) * scale
        return gx, gt, None, None


def _difference(op: str, y: np.ndarray, t: np.ndarray, reduction: str) -> np.ndarray:
    """d = y − t for the regression losses, after the shared checks (reduction, exact shapes)."""
    check_reduction(op, reduction)
    t = np.asarray(t)
    _check_same_shape(op, y, t)
    return y - t.astype(y.dtype, copy=False)


class L1(ArrayFunction):
    """C = (1/N) Σ_i |y_i − t_i| over all N elements ('mean'; 'sum' drops 1/N; 'none' keeps each).

    ∂C/∂y_i = sign(y_i − t_i)/N and ∂C/∂t_i = −sign(y_i − t_i)/N, with sign(0) = 0 at the kink
    (torch's subgradient choice: a prediction already on its target is left alone).
    """

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
        diff = _difference("l1_loss", y, t, reduction)
        ctx.diff, ctx.reduction = diff, reduction
        return reduce_loss(np.abs(diff), reduction, diff.size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        diff = ctx.diff
        gy = np.sign(diff) * grad_per_position(grad_out, ctx.reduction, diff.size, class_axis=False)
        return gy, (-gy if ctx.needs_input_grad[1] else None)


def _quadratic_then_linear(diff: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(ℓ, ℓ′) of the smooth L1 curve with its quadratic part of ``width`` β (β = 0: plain |d|):
    ℓ = d²/(2β), ℓ′ = d/β where |d| < β; ℓ = |d| − β/2, ℓ′ = sign(d) elsewhere."""
    size = np.abs(diff)
    inside = size < width
    if width == 0:
        return size, np.sign(diff)
    half = np.asarray(0.5 / width, dtype=diff.dtype)
    per = np.where(inside, diff * diff * half, size - np.asarray(0.5 * width, dtype=diff.dtype))
    slope = np.where(inside, diff * np.asarray(1.0 / width, dtype=diff.dtype), np.sign(diff))
    return per, slope


class SmoothL1(ArrayFunction):
    """ℓ_i = ½d_i²/β if |d_i| < β, else |d_i| − ½β, with d = y − t; mean/sum/none over elements.

    Quadratic near 0 (gradients shrink as the error does) and linear far out (an outlier pulls
    with a bounded force). The two pieces meet with equal value and slope at |d| = β:
        ∂ℓ/∂y = d/β inside, sign(d) outside;  ∂ℓ/∂t = −∂ℓ/∂y.
    β = 0 is the L1 loss (sign(0) = 0 at the kink).
    """

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, y: np.ndarray, t: np.ndarray, reduction: str = "mean", beta: float = 1.0) -> np.ndarray:
        if beta < 0:
            raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
        diff = _difference("smooth_l1_loss", y, t, reduction)
        per, ctx.slope = _quadratic_then_linear(diff, beta)
        ctx.reduction, ctx.count = reduction, diff.size
        return reduce_loss(per, reduction, diff.size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        gy = ctx.slope * grad_per_position(grad_out, ctx.reduction, ctx.count, class_axis=False)
        return gy, (-gy if ctx.needs_input_grad[1] else None)


class Huber(ArrayFunction):
    """ℓ_i = ½d_i² if |d_i| < δ, else δ(|d_i| − ½δ), with d = y − t: δ times smooth L1 with β = δ.

    ∂ℓ/∂y = d inside, δ·sign(d) outside (the gradient is clipped at ±δ); ∂ℓ/∂t = −∂ℓ/∂y.
    """

    float_inputs = (0,)

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, y: np.ndarray, t: np.ndarray, reduction: str = "mean", delta: float = 1.0) -> np.ndarray:
        if not delta > 0:
            raise ValueError(f"huber_loss: delta must be positive, got {delta}")
        diff = _difference("huber_loss", y, t, reduction)
        per, slope = _quadratic_then_linear(diff, delta)
        scale = np.asarray(delta, dtype=diff.dtype)
        ctx.slope, ctx.reduction, ctx.count = slope * scale, reduction, diff.size
        return reduce_loss(per * scale, reduction, diff.size)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        gy = ctx.slope * grad_per_position(grad_out, ctx.reduction, ctx.count, class_axis=False)
        return gy, (-gy if ctx.needs_input_grad[1] else None)


class KLDiv(ArrayFunction):
    """Kullback–Leibler divergence of the target distribution from the input's, torch's kl_div:
    the input x holds log-probabilities, the target t probabilities (log_target=False) or
    log-probabilities (log_target=True):

        ℓ_i = t_i·(log t_i − x_i)          (0 where t_i = 0: t log t → 0)
        ℓ_i = e^{t_i}·(t_i − x_i)          (log_target)

    'batchmean' divides Σℓ by the batch size N (the true KL divergence per sample), 'mean' by
    the number of elements (torch's default, which is not a KL divergence), 'sum' by nothing.
        ∂ℓ/∂x_i = −t_i          ∂ℓ/∂t_i = log t_i + 1 − x_i
        ∂ℓ/∂x_i = −e^{t_i}      ∂ℓ/∂t_i = e^{t_i}·(t_i − x_i + 1)      (log_target)
    """

    float_inputs = "all"

    promotion = "elementwise"

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, t: np.ndarray, reduction: str = "mean", log_target: bool = False
    ) -> np.ndarray:
        if reduction != "batchmean":
            check_reduction("kl_div", reduction)
        t = np.asarray(t)
        _check_same_shape("kl_div", x, t)
        t = t.astype(x.dtype, copy=False)
        if log_target:
            weight = np.exp(t)
            per = weight * (t - x)
        else:
            weight = t
            with np.errstate(divide="ignore", invalid="ignore"):
                log_t = np.log(t)
                per = np.where(t == 0, np.zeros((), x.dtype), t * log_t) - t * x
            ctx.log_t = log_t
        ctx.x, ctx.t, ctx.weight, ctx.log_target = x, t, weight, log_target
        ctx.reduction = "mean" if reduction == "batchmean" else reduction
        ctx.denom = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else x.size
        return reduce_loss(per, ctx.reduction, ctx.denom)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        upstream = grad_per_position(grad_out, ctx.reduction, ctx.denom, class_axis=False)
        gx = -ctx.weight * upstream
        gt = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                gt = ctx.weight * (ctx.t - ctx.x + 1) * upstream
            else:
                gt = (ctx.log_t + 1 - ctx.x) * upstream
        return gx, gt
