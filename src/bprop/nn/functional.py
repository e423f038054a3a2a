"""Stateless entry points with torch's names and signatures (``import bprop.nn.functional as F``).

Each is a thin call of an op: the gradient math lives in ``bprop.ops``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops import activation, attention, conv, linalg, loss, normalization, pooling
from bprop.ops import cross_entropy as cross_entropy_op
from bprop.ops import dropout as dropout_op
from bprop.ops import embedding as embedding_op
from bprop.tensor import Tensor


def _array(x: Any) -> np.ndarray | None:
    return None if x is None else (x._data if isinstance(x, Tensor) else np.asarray(x))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b (see ops.linalg.Linear for the gradients)."""
    return linalg.Linear.apply(input, weight, bias)


def relu(input: Tensor) -> Tensor:
    return activation.ReLU.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return activation.LeakyReLU.apply(input, negative_slope=negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return activation.GELU.apply(input, approximate=approximate)


def sigmoid(input: Tensor) -> Tensor:
    return activation.Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    return activation.Tanh.apply(input)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return activation.Softmax.apply(input, dim=dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return activation.LogSoftmax.apply(input, dim=dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout; the identity when not training or when p = 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    return dropout_op.Dropout.apply(input, p=p)


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated size_average/reduce pair, when given, decides the reduction."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _unbatched_classes(input: Tensor, target: Any) -> tuple[Tensor, Any, bool]:
    """A (C,) input and its 0-d label or (C,) probabilities as a batch of one, as torch allows."""
    if input.ndim != 1:
        return input, target, False
    target = target if isinstance(target, Tensor) else _array(target)
    if target.shape not in ((), input.shape):
        raise ValueError(
            f"an unbatched input {tuple(input.shape)} takes a 0-d class label or {tuple(input.shape)} "
            f"probabilities as target, got target shape {tuple(target.shape)}"
        )
    return input.reshape(1, -1), target.reshape(1, *target.shape), True


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Fused log-softmax + NLL over axis 1; integer labels (N, d1, …) or probabilities like input,
    or one unbatched (C,) input with a 0-d label. Gradient p·ΣA − A, i.e. (p − onehot)/N for
    plain labels (see ops.cross_entropy.CrossEntropy)."""
    scores, target, unbatched = _unbatched_classes(input, target)
    out = cross_entropy_op.CrossEntropy.apply(
        scores,
        target if isinstance(target, Tensor) else _array(target),  # probability targets may require grad
        weight=_array(weight),
        ignore_index=ignore_index,
        reduction=_reduction(size_average, reduce, reduction),
        label_smoothing=label_smoothing,
    )
    return out.reshape(()) if unbatched and out.ndim else out


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """−w_t·input[t] per position for log-probabilities ``input`` (N, C, d1, …) or (C,)
    (see ops.cross_entropy.NLLLoss)."""
    log_probs, target, unbatched = _unbatched_classes(input, target)
    out = cross_entropy_op.NLLLoss.apply(
        log_probs,
        _array(target),
        weight=_array(weight),
        ignore_index=ignore_index,
        reduction=_reduction(size_average, reduce, reduction),
    )
    return out.reshape(()) if unbatched and out.ndim else out


def _target(target: Any) -> Any:
    return target if isinstance(target, Tensor) else _array(target)


def mse_loss(
    input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
) -> Tensor:
    """mean((input − target)²); shapes must match exactly (see ops.loss.MSE)."""
    return loss.MSE.apply(input, _target(target), reduction=_reduction(size_average, reduce, reduction))


def l1_loss(
    input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
) -> Tensor:
    """mean(|input − target|); shapes must match exactly (see ops.loss.L1)."""
    return loss.L1.apply(input, _target(target), reduction=_reduction(size_average, reduce, reduction))


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic for |input − target| < beta, linear beyond (see ops.loss.SmoothL1)."""
    return loss.SmoothL1.apply(input, _target(target), reduction=_reduction(size_average, reduce, reduction), beta=beta)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½d² for |d| < delta, delta·(|d| − ½delta) beyond, d = input − target (see ops.loss.Huber)."""
    return loss.Huber.apply(input, _target(target), reduction=reduction, delta=delta)


def kl_div(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Σ target·(log target − input) for log-probabilities ``input``; 'batchmean' divides by the
    batch size (see ops.loss.KLDiv)."""
    return loss.KLDiv.apply(
        input, _target(target), reduction=_reduction(size_average, reduce, reduction), log_target=log_target
    )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Stable max(x, 0) − x·t + log(1 + e^{−|x|}), weighted; ∂/∂x = σ(x) − t (see ops.loss.BCEWithLogits)."""
    return loss.BCEWithLogits.apply(
        input,
        _target(target),
        weight=_array(weight),
        pos_weight=_array(pos_weight),
        reduction=_reduction(size_average, reduce, reduction),
    )


def batch_norm(
    input: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch statistics when training (updating the running arrays in place), else running ones."""
    rm, rv = _array(running_mean), _array(running_var)
    if training:
        return normalization.BatchNormTrain.apply(input, weight, bias, rm, rv, momentum=momentum, eps=eps)
    if rm is None or rv is None:
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    return normalization.BatchNormEval.apply(input, weight, bias, rm, rv, eps=eps)


def layer_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Each sample normalised over its trailing ``normalized_shape`` dims (see ops.normalization.LayerNorm)."""
    return normalization.LayerNorm.apply(input, weight, bias, normalized_shape=normalized_shape, eps=eps)


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Each sample's channels normalised in ``num_groups`` groups (see ops.normalization.GroupNorm)."""
    return normalization.GroupNorm.apply(input, weight, bias, num_groups=num_groups, eps=eps)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation (see ops.conv.Conv2d for the gradients)."""
    return conv.Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    return pooling.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    return pooling.AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` at the integer ``input`` indices (see ops.embedding.Embedding)."""
    indices = _array(input)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return embedding_op.Embedding.apply(indices, weight, padding_idx=padding_idx)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(QKᵀ/√E + mask) V, torch's signature: a bool attn_mask is True where a query may
    attend, a float one is added to the scores (see ops.attention for the gradients)."""
    mask = attn_mask if isinstance(attn_mask, Tensor) and attn_mask.dtype.kind == "f" else None
    if mask is None:
        mask = attention.additive_mask(_array(attn_mask), is_causal, query.shape[-2], key.shape[-2], query.dtype)
    elif is_causal:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    return attention.ScaledDotProductAttention.apply(query, key, value, mask, scale=scale, dropout_p=dropout_p)
