"""The course's layers: ``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache)``.

Each forward runs a bprop op's ``forward`` on plain arrays and keeps its context as the cache;
each backward runs that op's ``backward`` (the derivation is in the op's docstring, see
bprop.ops). The ``*_naive`` conv and pool functions are the loops of bprop.reference, one
image at a time, as the assignment asks students to write them. ``svm_loss`` is derived here,
since bprop has no op for it.

Conventions of the course kept here: W is (D, M) and x (N, d_1, …, d_k) is flattened to
(N, D); dropout's ``p`` is the probability of KEEPING a unit; batch norm's running averages
are ``momentum·running + (1 − momentum)·batch`` with the biased variance; γ of spatial group
norm has shape (1, C, 1, 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop import reference
from bprop.autograd import ArrayFunction, Context
from bprop.ops import activation, conv, cross_entropy, elementwise, linalg, normalization, pooling
from bprop.tensor import tensor

__all__ = [
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "conv_backward_fast",
    "conv_backward_naive",
    "conv_forward_fast",
    "conv_forward_naive",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_forward",
    "max_pool_backward_fast",
    "max_pool_backward_naive",
    "max_pool_forward_fast",
    "max_pool_forward_naive",
    "relu_backward",
    "relu_forward",
    "softmax_loss",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_groupnorm_backward",
    "spatial_groupnorm_forward",
    "svm_loss",
]


@dataclass
class OpCache:
    """A forward's cache: the op whose backward to run and the context its forward filled.

    ``extra`` keeps what the course's API needs besides (input shapes, parameter shapes)."""

    op: type[ArrayFunction]
    ctx: Context
    extra: dict[str, Any] = field(default_factory=dict)

    def backward(self, dout: np.ndarray) -> tuple:
        return self.op.backward(self.ctx, dout)


def run_forward(op: type[ArrayFunction], *inputs: Any, **attrs: Any) -> tuple[np.ndarray, OpCache]:
    """``op.forward`` on arrays, with every array input marked as wanting a gradient."""
    ctx = Context(op)
    ctx.needs_input_grad = tuple(isinstance(a, np.ndarray) for a in inputs)
    return op.forward(ctx, *inputs, **attrs), OpCache(op, ctx)


# --- affine and relu --------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, OpCache]:
    """out = x.reshape(N, D) · w + b with w of shape (D, M): bprop's Linear op with weight wᵀ."""
    rows = x.reshape(x.shape[0], -1)
    if w.ndim != 2 or w.shape[0] != rows.shape[1] or b.shape != (w.shape[1],):
        raise ValueError(
            f"affine_forward: x of shape {x.shape} is (N, D) = {rows.shape} flattened, so w must be (D, M) = "
            f"({rows.shape[1]}, M) and b (M,); got w {w.shape} and b {b.shape}"
        )
    out, cache = run_forward(linalg.Linear, rows, w.T, b)
    cache.extra["x_shape"] = x.shape
    return out, cache


def affine_backward(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dx = dout·wᵀ (reshaped like x), dw = xᵀ·dout, db = Σ_n dout (ops.linalg.Linear)."""
    dx, dw_t, db = cache.backward(dout)
    return dx.reshape(cache.extra["x_shape"]), dw_t.T, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, OpCache]:
    return run_forward(activation.ReLU, x)


def relu_backward(dout: np.ndarray, cache: OpCache) -> np.ndarray:
    """dx = dout where x > 0, else 0 (ops.activation.ReLU)."""
    return cache.backward(dout)[0]


# --- losses -------------------------------------------------------------------------------------


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the softmax of scores x (N, C) for labels y; dx = (p − onehot)/N
    (ops.cross_entropy.CrossEntropy)."""
    value, cache = run_forward(cross_entropy.CrossEntropy, x, np.asarray(y).astype(np.int64, copy=False))
    dx, _ = cache.backward(np.ones((), dtype=x.dtype))  # (∂/∂x, ∂/∂labels = None)
    return float(value), dx


def svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass SVM (hinge) loss, mean over the batch, and its gradient.

    With margins m_ij = x_ij − x_{i,y_i} + 1 for j ≠ y_i:
        L = (1/N) Σ_i Σ_{j≠y_i} max(0, m_ij)
    Each positive margin counts +1 for its own score and −1 for the correct one:
        ∂L/∂x_ij = [m_ij > 0]/N                    for j ≠ y_i
        ∂L/∂x_{i,y_i} = −(1/N)·#{j ≠ y_i : m_ij > 0}
    (the hinge's kink at m = 0 gets the subgradient 0, as in the course).
    """
    n = x.shape[0]
    rows = np.arange(n)
    margins = x - x[rows, y][:, None] + 1.0
    margins[rows, y] = 0.0
    positive = margins > 0
    value = float(np.sum(margins[positive]) / n)
    dx = positive.astype(x.dtype)
    dx[rows, y] = -positive.sum(axis=1)
    dx /= n
    return value, dx


# --- normalisation ------------------------------------------------------------------------------


def _update_running(param: dict, x: np.ndarray, axes: tuple[int, ...]) -> None:
    """The course's running averages: momentum·running + (1 − momentum)·batch (biased var)."""
    momentum = param.get("momentum", 0.9)
    shape = (x.shape[1],)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    running_mean = param.get("running_mean", np.zeros(shape, dtype=x.dtype))
    running_var = param.get("running_var", np.zeros(shape, dtype=x.dtype))
    param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    param["running_var"] = momentum * running_var + (1 - momentum) * var


def _batchnorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict) -> tuple[np.ndarray, OpCache]:
    """Batch norm per channel (axis 1) of (N, D) or (N, C, H, W), train or test mode."""
    mode, eps = bn_param["mode"], bn_param.get("eps", 1e-5)
    axes = (0, *range(2, x.ndim))
    if mode == "train":
        out, cache = run_forward(normalization.BatchNormTrain, x, gamma, beta, None, None, eps=eps)
        _update_running(bn_param, x, axes)
        cache.extra.update(x=x, gamma=gamma, eps=eps)
        return out, cache
    if mode == "test":
        shape = (x.shape[1],)
        mean = bn_param.get("running_mean", np.zeros(shape, dtype=x.dtype))
        var = bn_param.get("running_var", np.zeros(shape, dtype=x.dtype))
        return run_forward(normalization.BatchNormEval, x, gamma, beta, mean, var, eps=eps)
    raise ValueError(f'batchnorm: bn_param["mode"] must be "train" or "test", got {mode!r}')


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict) -> tuple[np.ndarray, OpCache]:
    """Batch norm of x (N, D); bn_param: mode ("train"/"test"), eps=1e-5, momentum=0.9,
    running_mean, running_var (created and updated in bn_param when training)."""
    return _batchnorm(x, gamma, beta, bn_param)


def batchnorm_backward(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The computation-graph way the assignment asks for first: batch norm written as a chain
    of bprop's primitive ops (mean, subtract, square, sqrt, divide, multiply, add) and
    backpropagated node by node by the autograd engine, every node with its own derivative.
    In test mode (an affine map) it is the op's backward."""
    if cache.op is not normalization.BatchNormTrain:
        return batchnorm_backward_alt(dout, cache)
    x, gamma, eps = (cache.extra[k] for k in ("x", "gamma", "eps"))
    xt, gt = tensor(x, requires_grad=True), tensor(gamma, requires_grad=True)
    bt = tensor(np.zeros_like(gamma), requires_grad=True)
    centred = xt - xt.mean(0, keepdim=True)
    std = ((centred * centred).mean(0, keepdim=True) + eps).sqrt()
    out = centred / std * gt + bt
    out.backward(dout)
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


def batchnorm_backward_alt(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The simplified closed form, dx = (γ/(N·σ))·(N·dout − Σdout − x̂·Σ(dout·x̂)): the
    backward of ops.normalization.BatchNormTrain (BatchNormEval in test mode)."""
    return cache.backward(dout)[:3]


def spatial_batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict
) -> tuple[np.ndarray, OpCache]:
    """Batch norm of each channel of x (N, C, H, W) over N, H and W."""
    return _batchnorm(x, gamma, beta, bn_param)


def spatial_batchnorm_backward(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cache.backward(dout)[:3]


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict) -> tuple[np.ndarray, OpCache]:
    """Layer norm of each row of x (N, D) (ops.normalization.LayerNorm); ln_param: eps=1e-5."""
    eps = ln_param.get("eps", 1e-5)
    return run_forward(normalization.LayerNorm, x, gamma, beta, normalized_shape=x.shape[1:], eps=eps)


def layernorm_backward(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cache.backward(dout)


def spatial_groupnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int, gn_param: dict
) -> tuple[np.ndarray, OpCache]:
    """Group norm of x (N, C, H, W) in G groups of channels (ops.normalization.GroupNorm); γ
    and β have the course's shape (1, C, 1, 1); gn_param: eps=1e-5."""
    eps = gn_param.get("eps", 1e-5)
    channels = x.shape[1]
    out, cache = run_forward(
        normalization.GroupNorm, x, gamma.reshape(channels), beta.reshape(channels), num_groups=G, eps=eps
    )
    cache.extra["param_shape"] = gamma.shape
    return out, cache


def spatial_groupnorm_backward(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dx, dgamma, dbeta = cache.backward(dout)
    shape = cache.extra["param_shape"]
    return dx, dgamma.reshape(shape), dbeta.reshape(shape)


# --- dropout ------------------------------------------------------------------------------------


def dropout_forward(x: np.ndarray, dropout_param: dict) -> tuple[np.ndarray, OpCache | None]:
    """Inverted dropout with KEEP probability p: out = x ⊙ mask, mask = [u < p]/p, u uniform.

    dropout_param: p, mode ("train"/"test"), seed (optional; seeds np.random as the course
    does, so that gradient checks see the same mask every call). The mask is drawn as the
    course draws it; multiplying by it is bprop's Mul op, whose backward gives dx = dout ⊙ mask.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, None
    if mode != "train":
        raise ValueError(f'dropout: dropout_param["mode"] must be "train" or "test", got {mode!r}')
    if not 0 < p <= 1:
        raise ValueError(f"dropout: the keep probability p must be in (0, 1], got {p}")
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])  # noqa: NPY002 (the course's global generator)
    mask = (np.random.rand(*x.shape) < p) / p  # noqa: NPY002
    ctx = Context(elementwise.Mul)
    ctx.needs_input_grad = (True, False)  # the mask is a constant
    return elementwise.Mul.forward(ctx, x, mask.astype(x.dtype, copy=False)), OpCache(elementwise.Mul, ctx)


def dropout_backward(dout: np.ndarray, cache: OpCache | None) -> np.ndarray:
    return dout if cache is None else cache.backward(dout)[0]


# --- convolution and pooling --------------------------------------------------------------------


def conv_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, dict]]:
    """out[n, f] = b[f] + Σ_{c,i,j} w[f, c, i, j]·x̃[n, c, p·s + i, q·s + j]: the loops of
    bprop.reference.cross_correlate, one image at a time (slow on purpose)."""
    s, pad = conv_param["stride"], conv_param["pad"]
    out = np.stack([reference.cross_correlate(image, w, b, s, s, pad, pad) for image in x])
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dx, dw, db by the loops of bprop.reference.conv_backward, summed over the images."""
    x, w, _, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[0])
    for n in range(x.shape[0]):
        dx[n], dw_n, db_n = reference.conv_backward(x[n], w, dout[n], s, s, pad, pad)
        dw += dw_n
        db += db_n
    return dx, dw, db


def max_pool_forward_naive(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, tuple[np.ndarray, dict]]:
    """The window maxima by the loops of bprop.reference.max_pool, one image at a time."""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return np.stack([reference.max_pool(image, ph, pw, s, s) for image in x]), (x, pool_param)


def max_pool_backward_naive(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Each window's dout to its argmax (bprop.reference.max_pool_backward)."""
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return np.stack([reference.max_pool_backward(image, d, ph, pw, s, s) for image, d in zip(x, dout)])


def conv_forward_fast(x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict) -> tuple[np.ndarray, OpCache]:
    """The same convolution through bprop's im2col op (ops.conv.Conv2d)."""
    return run_forward(conv.Conv2d, x, w, b, stride=conv_param["stride"], padding=conv_param["pad"])


def conv_backward_fast(dout: np.ndarray, cache: OpCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cache.backward(dout)


def max_pool_forward_fast(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, OpCache]:
    """The same max pool through bprop's strided op."""
    kernel = (pool_param["pool_height"], pool_param["pool_width"])
    return run_forward(pooling.MaxPool2d, x, kernel_size=kernel, stride=pool_param["stride"])


def max_pool_backward_fast(dout: np.ndarray, cache: OpCache) -> np.ndarray:
    return cache.backward(dout)[0]
