"""Stateless entry points with torch's names and signatures (``import bprop.nn.functional as F``).

Each is a thin call of an op: the gradient math lives in ``bprop.ops``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops import activation, attention, conv, linalg, loss, normalization, pooling, shape
from bprop.ops import cross_entropy as cross_entropy_op
from bprop.ops import dropout as dropout_op
from bprop.ops import embedding as embedding_op
from bprop.ops.conv import pair
from bprop.tensor import Tensor


def _array(x: Any) -> np.ndarray | None:
    return None if x is None else (x._data if isinstance(x, Tensor) else np.asarray(x))


def _target(target: Any, input: Tensor) -> Any:
    """A target given as NumPy data or a list takes the input's floating dtype (its values carry
    no dtype of their own, as in ``torch.tensor``); a Tensor target keeps its dtype and is
    promoted by torch's rules (bprop.dtypes)."""
    if isinstance(target, Tensor):
        return target
    array = np.asarray(target)
    return array.astype(input.dtype) if array.dtype.kind == "f" else array


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
        _target(target, scores),  # probability targets may require grad
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


def mse_loss(
    input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
) -> Tensor:
    """mean((input − target)²); shapes must match exactly (see ops.loss.MSE)."""
    return loss.MSE.apply(input, _target(target, input), reduction=_reduction(size_average, reduce, reduction))


def l1_loss(
    input: Tensor, target: Any, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
) -> Tensor:
    """mean(|input − target|); shapes must match exactly (see ops.loss.L1)."""
    return loss.L1.apply(input, _target(target, input), reduction=_reduction(size_average, reduce, reduction))


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic for |input − target| < beta, linear beyond (see ops.loss.SmoothL1)."""
    return loss.SmoothL1.apply(
        input, _target(target, input), reduction=_reduction(size_average, reduce, reduction), beta=beta
    )


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½d² for |d| < delta, delta·(|d| − ½delta) beyond, d = input − target (see ops.loss.Huber)."""
    return loss.Huber.apply(input, _target(target, input), reduction=reduction, delta=delta)


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
        input, _target(target, input), reduction=_reduction(size_average, reduce, reduction), log_target=log_target
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
        _target(target, input),
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
    """2-D cross-correlation of an (N, C, H, W) or unbatched (C, H, W) input (see ops.conv.Conv2d
    for the gradients). ``padding`` may also be 'valid' (none) or 'same' (output as large as the
    input, stride 1; an even kernel pads one more on the bottom and right, as torch does)."""
    options = dict(stride=stride, dilation=dilation, groups=groups)
    image = input
    if isinstance(padding, str):
        image, padding = _string_padding(image, padding, weight.shape[-2:], stride, dilation)
    return _batched("conv2d", image, lambda x: conv.Conv2d.apply(x, weight, bias, padding=padding, **options))


def _string_padding(input: Tensor, padding: str, kernel: tuple, stride: Any, dilation: Any) -> tuple[Tensor, Any]:
    """(input, symmetric padding) for conv2d's padding='valid' | 'same': 'same' pads d(k − 1)
    in total per axis, half on each side, the odd one on the bottom/right (explicitly, then)."""
    if padding == "valid":
        return input, 0
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if pair(stride, "stride") != (1, 1):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for k, d in zip(kernel, pair(dilation, "dilation"))]
    if all(t % 2 == 0 for t in totals):
        return input, (totals[0] // 2, totals[1] // 2)
    widths = (totals[1] // 2, totals[1] - totals[1] // 2, totals[0] // 2, totals[0] - totals[0] // 2)
    return pad(input, widths), 0


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """torch's F.pad: ``pad`` = (left, right) of the last dim, then of the one before, …;
    mode 'constant' (``value``, default 0) or 'reflect' | 'replicate' | 'circular', whose
    borders copy input values (see ops.shape.Pad and ops.shape.PadFromInput)."""
    if mode == "constant":
        return shape.Pad.apply(input, pad=tuple(pad), value=0.0 if value is None else value)
    if value:
        raise ValueError(f"pad: value is only for mode 'constant', not {mode!r}")
    return shape.PadFromInput.apply(input, pad=tuple(pad), mode=mode)


def _batched(op: str, input: Tensor, call: Any) -> Any:
    """call(input) for (N, C, H, W); an unbatched (C, H, W) input runs as a batch of one, and
    each Tensor result loses that batch dim again (torch accepts both)."""
    if input.ndim == 4:
        return call(input)
    if input.ndim != 3:
        raise ValueError(f"{op}: expected input (N, C, H, W) or unbatched (C, H, W), got shape {tuple(input.shape)}")
    out = call(input.unsqueeze(0))
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window (see ops.pooling.MaxPool2d); with return_indices also where
    it sits (flat h·W + w per plane), for max_unpool2d."""

    def pool(x: Tensor) -> Any:
        options = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
        out = pooling.MaxPool2d.apply(x, **options)
        if not return_indices:
            return out
        return out, Tensor(pooling.max_pool2d_indices(np.asarray(x), **options))

    return _batched("max_pool2d", input, pool)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each window (see ops.pooling.AvgPool2d for the divisor's rules)."""
    options = dict(
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    return _batched("avg_pool2d", input, lambda x: pooling.AvgPool2d.apply(x, **options))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed (P, Q) whatever the input size (see ops.pooling.AdaptiveAvgPool2d)."""
    return pooling.AdaptiveAvgPool2d.apply(input, output_size=output_size)


def adaptive_max_pool2d(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling to a fixed (P, Q) (see ops.pooling.AdaptiveMaxPool2d)."""
    out = pooling.AdaptiveMaxPool2d.apply(input, output_size=output_size)
    if not return_indices:
        return out
    return out, Tensor(pooling.adaptive_max_pool2d_indices(np.asarray(input), output_size))


def max_unpool2d(
    input: Tensor,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Put each value back where max_pool2d found it, zeros elsewhere (see ops.pooling.MaxUnpool2d).
    The output is (H_in − 1)·stride − 2·padding + kernel_size unless ``output_size`` says
    otherwise (torch's check: within a stride of that size)."""
    kernel = pair(kernel_size, "kernel_size")
    steps = kernel if stride is None else pair(stride, "stride")
    pads = pair(padding, "padding")
    default = [(input.shape[-2 + i] - 1) * steps[i] - 2 * pads[i] + kernel[i] for i in range(2)]
    if output_size is None:
        size = tuple(default)
    else:
        size = tuple(int(n) for n in tuple(output_size)[-2:])
        for i in range(2):
            if not default[i] - steps[i] < size[i] < default[i] + steps[i]:
                raise ValueError(
                    f"max_unpool2d: invalid output_size {size} (dim {i} must be between "
                    f"{default[i] - steps[i]} and {default[i] + steps[i]})"
                )
    return pooling.MaxUnpool2d.apply(input, _array(indices), output_size=size)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels with probability p, scale the rest by 1/(1 − p) (see ops.dropout.Dropout2d);
    ``inplace`` is accepted for torch's sake and computed out of place."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    return dropout_op.Dropout2d.apply(input, p=p)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` at the integer ``input`` indices (see ops.embedding.Embedding)."""
    indices = _array(input)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return embedding_op.Embedding.apply(indices, weight, padding_idx=padding_idx)


def _share_heads(query: Tensor, kv: Tensor) -> Tensor:
    """kv with each of its H_kv heads repeated H_q/H_kv times, in place along dim −3."""
    heads, kv_heads = query.shape[-3], kv.shape[-3]
    if kv_heads == 0 or heads % kv_heads:
        raise ValueError(
            f"scaled_dot_product_attention: with enable_gqa the query's {heads} heads must be a multiple "
            f"of the key/value's {kv_heads}"
        )
    return kv[..., np.repeat(np.arange(kv_heads), heads // kv_heads), :, :]


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(QKᵀ/√E + mask) V, torch's signature: a bool attn_mask is True where a query may
    attend, a float one is added to the scores (see ops.attention for the gradients).

    ``enable_gqa`` (grouped-query attention): key and value may have fewer heads (dim −3) than
    query, H_q = g·H_kv; each key/value head then serves g consecutive query heads (torch's
    repeat_interleave), and its gradient is the sum over them (the indexing's backward)."""
    if enable_gqa and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _share_heads(query, key), _share_heads(query, value)
    mask = attn_mask if isinstance(attn_mask, Tensor) and attn_mask.dtype.kind == "f" else None
    if mask is None:
        mask = attention.additive_mask(_array(attn_mask), is_causal, query.shape[-2], key.shape[-2], query.dtype)
    elif is_causal:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    return attention.ScaledDotProductAttention.apply(query, key, value, mask, scale=scale, dropout_p=dropout_p)
