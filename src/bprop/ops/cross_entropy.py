"""Cross-entropy and negative log-likelihood, each one fused Function whose backward is the
closed form of its derivative.

Cross-entropy and NLL weigh the log-probabilities ℓ = log p of every position i (a row of
(N, C), or one pixel of (N, C, d1, …); the class axis is always axis 1) with coefficients A_ic:

    L_i = −Σ_c A_ic·ℓ_ic

Class labels t_i give A_ic = (1 − ε)·w_c·[c = t_i] + (ε/C)·w_c, and A_i = 0 where t_i is
ignore_index (ε = label smoothing, w = class weights, all 1 by default). Probability targets T
give A_ic = w_c·((1 − ε)·T_ic + ε/C). With S_i = Σ_c A_ic and ∂ℓ_ic'/∂x_ic = [c = c'] − p_ic,

    NLL (input ℓ):             ∂L_i/∂ℓ_ic = −A_ic
    cross-entropy (logits x):  ∂L_i/∂x_ic = p_ic·S_i − A_ic      (p = softmax x over axis 1)
    probability targets T:     ∂L_i/∂T_ic = −(1 − ε)·w_c·ℓ_ic    (∂A_ic/∂T_ic = (1 − ε)·w_c)

For plain labels S_i = 1 and this is the notes' output error δ^L = p − y. 'mean' divides Σ_i L_i
by Σ_i w_{t_i} over the kept labels (torch's weighted mean: the count of kept labels without
weights; the number of positions for probability targets), 'sum' by nothing, and 'none'
returns every L_i.
"""

from __future__ import annotations

import math

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.loss import check_reduction, grad_per_position, reduce_loss


def _class_weight(op: str, weight: np.ndarray | None, n_classes: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    if weight.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({n_classes},), got {weight.shape}")
    return weight.astype(dtype, copy=False)


class _Labels:
    """Integer class targets, checked, as flat indices into a C-contiguous (N, C, d1, …) array.

    ``coef`` is A_{i,t_i}/(1 − ε) per position, shape (N, 1, d1, …): w_{t_i}, 0 where ignored;
    it is None in the common case (no class weights, nothing ignored) where it is all ones.
    ``kept`` (same shape, 1 or 0) is None when no label is ignored.
    """

    def __init__(
        self,
        op: str,
        target: np.ndarray,
        shape: tuple[int, ...],
        weight: np.ndarray | None,
        ignore_index: int,
        dtype: np.dtype,
    ):
        n, n_classes, inner = shape[0], shape[1], math.prod(shape[2:])
        expected = (n, *shape[2:])
        if target.shape != expected:
            hint = " (probability targets must be floating point)" if target.shape == shape else ""
            raise ValueError(
                f"{op}: class targets should have shape {expected} for input {shape}, got {target.shape}{hint}"
            )
        labels = target.reshape(n, inner)
        ignored = None
        if labels.size:
            low, high = labels.min(), labels.max()
            if low <= ignore_index <= high:  # only then can a label be ignored: skips a pass otherwise
                ignored = labels == ignore_index
                if ignored.any():
                    labels = np.where(ignored, 0, labels)
                    low, high = labels.min(), labels.max()
                else:
                    ignored = None
            if low < 0 or high >= n_classes:
                bad = labels[(labels < 0) | (labels >= n_classes)][0]
                raise IndexError(
                    f"{op}: target label {int(bad)} is out of range for {n_classes} classes "
                    f"(labels must be in [0, {n_classes - 1}]), and it is not "
                    f"ignore_index={ignore_index}"
                )
        # flat index of (sample, label, position) in the row-major (N, C, inner) layout
        rows = np.arange(0, n * n_classes * inner, n_classes * inner)
        if inner == 1:
            self.flat = rows + labels.reshape(n)
        else:
            self.flat = (rows[:, None] + labels * inner + np.arange(inner)).reshape(-1)
        column = (n, 1, *shape[2:])
        self.kept = None if ignored is None else (~ignored).astype(dtype).reshape(column)
        if weight is None:
            self.coef = self.kept
            self.denom = float(labels.size if ignored is None else labels.size - np.count_nonzero(ignored))
        else:
            picked = weight[labels].reshape(column)
            self.coef = picked if ignored is None else picked * self.kept
            self.denom = float(self.coef.sum())

    def column(self, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return values.reshape((shape[0], 1, *shape[2:]))

    def per_position(self, values: np.ndarray) -> np.ndarray:
        """A (N, 1, d1, …) column as one value per entry of ``flat``; a scalar stays a scalar."""
        return values.reshape(-1) if values.size == self.flat.size else values.reshape(())


def _logits_rank(op: str, x: np.ndarray) -> None:
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, d1, …) with the classes on axis 1, got shape {x.shape}")


class CrossEntropy(ArrayFunction):
    """L_i = −Σ_c A_ic·log softmax(x)_ic (module docstring), one fused op.

    Forward: log p = (x − m) − log Σ_c e^{x − m} with m = max_c x (nothing overflows).
    Backward: ∂L_i/∂x_ic = p_ic·S_i − A_ic, e.g. (p − onehot)/N for plain labels and 'mean'.
    Label smoothing ε mixes the target with the uniform one: A = w·((1 − ε)·target + ε/C).
    A probability target that requires grad gets ∂L_i/∂T_ic = −(1 − ε)·w_c·log p_ic (as torch).
    """

    float_inputs = (0,)

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> np.ndarray:
        op = "cross_entropy"
        target = np.asarray(target)
        check_reduction(op, reduction)
        _logits_rank(op, x)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
        weight = _class_weight(op, weight, x.shape[1], x.dtype)
        shifted = np.subtract(x, x.max(axis=1, keepdims=True), order="C")  # C order: flat label indices
        p = np.exp(shifted)
        norm = p.sum(axis=1, keepdims=True)
        p /= norm
        log_norm = np.log(norm)
        ctx.reduction, ctx.eps, ctx.weight = reduction, label_smoothing, weight
        if target.dtype.kind in "iu":
            per = _CrossEntropyLabels.forward(ctx, shifted, log_norm, p, target, weight, ignore_index)
        else:
            per = _CrossEntropyProbabilities.forward(ctx, shifted, log_norm, p, target, weight)
        return reduce_loss(per, reduction, ctx.denom)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        r = grad_per_position(grad_out, ctx.reduction, ctx.denom)
        if ctx.labels is not None:  # integer labels never require grad
            return _CrossEntropyLabels.backward(ctx, r), None
        needs = ctx.needs_input_grad
        gx = _CrossEntropyProbabilities.backward(ctx, r) if needs[0] else None
        return gx, (_CrossEntropyProbabilities.target_grad(ctx, r) if needs[1] else None)


class _CrossEntropyLabels:
    """Class-label targets: A never materialises; the target column is gathered and scattered."""

    @staticmethod
    def forward(
        ctx: Context,
        shifted: np.ndarray,
        log_norm: np.ndarray,
        p: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None,
        ignore_index: int,
    ) -> np.ndarray:
        eps = ctx.eps
        shape, n_classes = shifted.shape, shifted.shape[1]
        labels = _Labels("cross_entropy", target, shape, weight, ignore_index, shifted.dtype)
        log_p_target = labels.column(shifted.reshape(-1)[labels.flat], shape) - log_norm
        per = log_p_target if labels.coef is None else log_p_target * labels.coef
        per *= -(1.0 - eps)
        if eps:  # −(ε/C)·Σ_c w_c·ℓ_c with ℓ_c = shifted_c − log_norm
            w_shifted = shifted.sum(axis=1, keepdims=True) if weight is None else _dot_classes(shifted, weight)
            w_total = n_classes if weight is None else weight.sum()
            smooth = w_shifted - log_norm * w_total
            if labels.kept is not None:
                smooth *= labels.kept
            per -= (eps / n_classes) * smooth
        ctx.p, ctx.labels, ctx.denom = p, labels, labels.denom
        return per.reshape((shape[0], *shape[2:]))

    @staticmethod
    def backward(ctx: Context, r: np.ndarray) -> np.ndarray:
        p, eps, weight, labels = ctx.p, ctx.eps, ctx.weight, ctx.labels
        target_coef = r * (1.0 - eps) if labels.coef is None else labels.coef * (r * (1.0 - eps))
        if not eps:  # S_i = A_{i,t_i}
            gx = p * target_coef
        else:  # S_i = (1 − ε)·w_{t_i} + (ε/C)·Σ_c w_c on kept positions
            n_classes = p.shape[1]
            smooth_coef = r * (eps / n_classes) if labels.kept is None else labels.kept * (r * (eps / n_classes))
            w_total = n_classes if weight is None else weight.sum()
            gx = p * (target_coef + smooth_coef * w_total)
            gx -= smooth_coef if weight is None else smooth_coef * _class_column(weight, p.ndim)
        gx.reshape(-1)[labels.flat] -= labels.per_position(target_coef)
        return gx


class _CrossEntropyProbabilities:
    """Probability targets of the logits' shape: A is the (smoothed, weighted) target itself."""

    @staticmethod
    def forward(
        ctx: Context,
        shifted: np.ndarray,
        log_norm: np.ndarray,
        p: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None,
    ) -> np.ndarray:
        op = "cross_entropy"
        if target.dtype.kind != "f":
            raise TypeError(
                f"{op}: target must hold integer class labels or float probabilities, got dtype {target.dtype}"
            )
        if target.shape != shifted.shape:
            raise ValueError(
                f"{op}: probability targets must have the input's shape {shifted.shape}, "
                f"got {target.shape} (class labels must be integers)"
            )
        eps = ctx.eps
        coef = target.astype(shifted.dtype, copy=False)  # a float64 target keeps a float32 loss float32
        if eps:
            coef = coef * (1.0 - eps) + eps / shifted.shape[1]
        if weight is not None:
            coef = coef * _class_column(weight, shifted.ndim)
        log_p = shifted
        log_p -= log_norm  # shifted is no longer needed: log p in place
        per = -np.einsum("ab...,ab...->a...", coef, log_p)
        ctx.p, ctx.coef = p, coef
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:  # the target is a tensor that requires grad
            ctx.log_p, ctx.target_dtype = log_p, target.dtype
        ctx.labels, ctx.denom = None, float(shifted.size // shifted.shape[1])
        return per

    @staticmethod
    def backward(ctx: Context, r: np.ndarray) -> np.ndarray:
        p, coef = ctx.p, ctx.coef
        gx = p * (coef.sum(axis=1, keepdims=True) * r)
        gx -= coef * r
        return gx

    @staticmethod
    def target_grad(ctx: Context, r: np.ndarray) -> np.ndarray:
        """∂L_i/∂T_ic = −(1 − ε)·w_c·ℓ_ic, times ∂C/∂L_i."""
        scale = r * -(1.0 - ctx.eps)
        if ctx.weight is not None:
            scale = scale * _class_column(ctx.weight, ctx.log_p.ndim)
        return (ctx.log_p * scale).astype(ctx.target_dtype, copy=False)


def _class_column(weight: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) → (1, C, 1, …) so that it broadcasts over axis 1 of an ndim-array."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


def _dot_classes(a: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Σ_c a_ic·w_c, kept as a (N, 1, d1, …) column."""
    return np.expand_dims(np.einsum("ab...,b->a...", a, weight), 1)


class NLLLoss(ArrayFunction):
    """L_i = −w_{t_i}·ℓ_{i,t_i} for log-probabilities ℓ (classes on axis 1), reduced like cross-entropy.

    ∂L_i/∂ℓ_ic = −w_{t_i} where c = t_i, else 0; ignored targets contribute nothing.
    """

    float_inputs = (0,)

    promotion = "own"  # forward checks the target: integer labels, named in its error

    @staticmethod
    def forward(
        ctx: Context,
        log_probs: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> np.ndarray:
        op = "nll_loss"
        target = np.asarray(target)
        check_reduction(op, reduction)
        _logits_rank(op, log_probs)
        if target.dtype.kind not in "iu":
            raise TypeError(f"{op}: target must hold integer class labels, got {target.dtype}")
        weight = _class_weight(op, weight, log_probs.shape[1], log_probs.dtype)
        shape = log_probs.shape
        labels = _Labels(op, target, shape, weight, ignore_index, log_probs.dtype)
        picked = labels.column(np.ascontiguousarray(log_probs).reshape(-1)[labels.flat], shape)
        per = -picked if labels.coef is None else picked * -labels.coef
        ctx.labels, ctx.x_shape, ctx.dtype, ctx.reduction = labels, shape, log_probs.dtype, reduction
        return reduce_loss(per.reshape((shape[0], *shape[2:])), reduction, labels.denom)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        labels = ctx.labels
        r = grad_per_position(grad_out, ctx.reduction, labels.denom)
        target_grad = -r if labels.coef is None else labels.coef * -r
        gx = np.zeros(ctx.x_shape, dtype=ctx.dtype)
        gx.reshape(-1)[labels.flat] = labels.per_position(target_grad)
        return gx, None, None
