"""Loss functions, each one fused Function so that the gradient is the simple closed form.

Cross-entropy and NLL share one idea: the loss of row i is −Σ_c A_ic·log p_ic for a
coefficient matrix A built from the targets (one-hot rows times class weights, plus the
label-smoothing spread; zero rows for ignored targets). Then

    NLL (input ℓ = log p):        ∂L_i/∂ℓ_ic = −A_ic
    cross-entropy (logits x):     ∂L_i/∂x_ic = p_ic·Σ_c' A_ic' − A_ic      (p = softmax x)

which for plain one-hot targets is the notes' output error δ^L = p − y.
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import Context, Function
from bprop.ops.activation import log_softmax_array, sigmoid_array

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _rows(x: np.ndarray, op: str) -> np.ndarray:
    """(N, C, d1, …) → (N·d1·…, C) with the class axis last; (N, C) is returned as it is."""
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, d1, …), got shape {x.shape}")
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) == 2:
        return rows
    moved = rows.reshape((shape[0],) + shape[2:] + (shape[1],))
    return np.moveaxis(moved, -1, 1)


def _coefficients(target: np.ndarray, input_shape: tuple[int, ...], weight: np.ndarray | None,
                  ignore_index: int, smoothing: float, dtype: np.dtype, op: str) -> tuple[np.ndarray, float]:
    """The matrix A (rows × C) and the 'mean' denominator for the given targets."""
    n_classes = input_shape[1]
    w = np.ones(n_classes, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
    if np.issubdtype(target.dtype, np.integer):
        expected = (input_shape[0],) + input_shape[2:]
        if target.shape != expected:
            raise ValueError(f"{op}: class targets should have shape {expected} for input "
                             f"{input_shape}, got {target.shape}")
        labels = target.reshape(-1)
        kept = labels != ignore_index
        bad = kept & ((labels < 0) | (labels >= n_classes))
        if bad.any():
            raise IndexError(f"{op}: target label {int(labels[bad][0])} is out of range for "
                             f"{n_classes} classes (labels must be in [0, {n_classes - 1}])")
        rows = np.arange(labels.size)[kept]
        coeff = np.zeros((labels.size, n_classes), dtype=dtype)
        coeff[rows, labels[kept]] = (1.0 - smoothing) * w[labels[kept]]
        if smoothing:
            coeff[kept] += (smoothing / n_classes) * w
        return coeff, float(w[labels[kept]].sum())
    if not np.issubdtype(target.dtype, np.floating):
        raise TypeError(f"{op}: target must hold integer class labels or float probabilities, "
                        f"got dtype {target.dtype}")
    if target.shape != tuple(input_shape):
        raise ValueError(f"{op}: probability targets must have the input's shape {input_shape}, "
                         f"got {target.shape}")
    probs = _rows(target.astype(dtype, copy=False), op)
    if smoothing:
        probs = (1.0 - smoothing) * probs + smoothing / n_classes
    return probs * w, float(probs.shape[0])


def _reduce(per_row: np.ndarray, reduction: str, denom: float, out_shape: tuple[int, ...]) -> np.ndarray:
    if reduction == "none":
        return per_row.reshape(out_shape)
    total = per_row.sum()
    return np.asarray(total / denom if reduction == "mean" else total, dtype=per_row.dtype)


def _row_scale(grad: np.ndarray, reduction: str, denom: float, n_rows: int) -> np.ndarray:
    """∂C/∂L_i for every row i, as a column."""
    if reduction == "none":
        return grad.reshape(n_rows, 1)
    return np.full((1, 1), grad / denom if reduction == "mean" else grad, dtype=grad.dtype)


class CrossEntropy(Function):
    """L_i = −Σ_c A_ic log softmax(x_i)_c, reduced by 'mean' (÷ Σ target weights), 'sum' or 'none'.

    Fused: ∂L_i/∂x_ic = p_ic·Σ_c' A_ic' − A_ic; plain labels give (p − onehot)/N for 'mean'.
    Label smoothing ε mixes the one-hot target with the uniform one: A = (1−ε)·onehot·w_t + ε·w/C.
    """

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
        _check_reduction(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        rows = _rows(logits, "cross_entropy")
        log_p = log_softmax_array(rows, axis=1)
        coeff, denom = _coefficients(np.asarray(target), logits.shape, weight, ignore_index,
                                     label_smoothing, logits.dtype, "cross_entropy")
        ctx.save_for_backward(log_p, coeff)
        ctx.meta = (logits.shape, reduction, denom)
        per_row = -np.einsum("ij,ij->i", coeff, log_p)
        return _reduce(per_row, reduction, denom, (logits.shape[0],) + logits.shape[2:])

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        log_p, coeff = ctx.saved
        shape, reduction, denom = ctx.meta
        grad_rows = np.exp(log_p)
        grad_rows *= coeff.sum(axis=1, keepdims=True)
        grad_rows -= coeff
        grad_rows *= _row_scale(grad, reduction, denom, log_p.shape[0])
        return _unrows(grad_rows, shape), None, None


class NLLLoss(Function):
    """L_i = −w_{t_i}·ℓ_{i,t_i} for log-probabilities ℓ, reduced like cross-entropy.

    ∂L_i/∂ℓ_ic = −w_{t_i} where c = t_i, else 0 (ignored targets contribute nothing).
    """

    @staticmethod
    def forward(ctx: Context, log_probs: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                ignore_index: int = -100, reduction: str = "mean") -> np.ndarray:
        _check_reduction(reduction)
        rows = _rows(log_probs, "nll_loss")
        if not np.issubdtype(np.asarray(target).dtype, np.integer):
            raise TypeError(f"nll_loss: target must hold integer class labels, got {np.asarray(target).dtype}")
        coeff, denom = _coefficients(np.asarray(target), log_probs.shape, weight, ignore_index, 0.0,
                                     log_probs.dtype, "nll_loss")
        ctx.save_for_backward(coeff)
        ctx.meta = (log_probs.shape, reduction, denom)
        per_row = -np.einsum("ij,ij->i", coeff, rows)
        return _reduce(per_row, reduction, denom, (log_probs.shape[0],) + log_probs.shape[2:])

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (coeff,) = ctx.saved
        shape, reduction, denom = ctx.meta
        return _unrows(-coeff * _row_scale(grad, reduction, denom, coeff.shape[0]), shape), None, None


def _check_same_shape(op: str, a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{op}: input shape {np.shape(a)} and target shape {np.shape(b)} differ; "
                         "they must match exactly (no silent broadcasting)")


class MSE(Function):
    """C = (1/N) Σ_i (y_i − t_i)²  ('mean'; 'sum' drops 1/N; 'none' keeps every term).

    ∂C/∂y_i = 2(y_i − t_i)/N and ∂C/∂t_i = −2(y_i − t_i)/N. (A study note writes |y − t| in this
    derivative; that is wrong: the square's derivative keeps the sign, which is what pulls y
    toward t from either side.)
    """

    @staticmethod
    def forward(ctx: Context, y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
        _check_reduction(reduction)
        _check_same_shape("mse_loss", y, t)
        diff = y - np.asarray(t, dtype=y.dtype)  # a float64 NumPy target must not upcast a float32 loss
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        squared = diff * diff
        if reduction == "none":
            return squared
        return np.asarray(squared.mean() if reduction == "mean" else squared.sum(), dtype=diff.dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (diff,) = ctx.saved
        scale = 2.0 / diff.size if ctx.reduction == "mean" else 2.0
        gy = diff * (grad * np.asarray(scale, dtype=diff.dtype))
        return gy, (-gy if ctx.needs_input_grad[1] else None)


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^{−|x|}), which never overflows."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class BCEWithLogits(Function):
    """ℓ = −w·[p_w·t·log σ(x) + (1 − t)·log(1 − σ(x))], computed stably as
    w·[(1 − t)·x + (1 + (p_w − 1)t)·softplus(−x)]  (p_w = pos_weight, 1 by default).

    ∂ℓ/∂x = w·[σ(x)·(p_w·t + 1 − t) − p_w·t]  (= w·(σ(x) − t) without pos_weight),
    ∂ℓ/∂t = w·[p_w·softplus(−x) − softplus(x)].
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None = None,
                pos_weight: np.ndarray | None = None, reduction: str = "mean") -> np.ndarray:
        _check_reduction(reduction)
        _check_same_shape("binary_cross_entropy_with_logits", x, t)
        t = np.asarray(t, dtype=x.dtype)  # computed in the logits' dtype, like weight and pos_weight
        pw = np.ones((), x.dtype) if pos_weight is None else pos_weight.astype(x.dtype, copy=False)
        w = np.ones((), x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        loss = w * ((1 - t) * x + (1 + (pw - 1) * t) * _softplus(-x))
        ctx.save_for_backward(x, t, w, pw)
        ctx.reduction = reduction
        if reduction == "none":
            return loss
        return np.asarray(loss.mean() if reduction == "mean" else loss.sum(), dtype=x.dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        x, t, w, pw = ctx.saved
        scale = grad / x.size if ctx.reduction == "mean" else grad
        gx = w * (sigmoid_array(x) * (pw * t + 1 - t) - pw * t) * scale
        gt = w * (pw * _softplus(-x) - _softplus(x)) * scale if ctx.needs_input_grad[1] else None
        return gx.astype(x.dtype, copy=False), gt, None, None
