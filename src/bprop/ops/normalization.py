"""Batch normalisation per channel: over axis 0 of (N, C), over (0, 2) of (N, C, L) and over
(0, 2, 3) of (N, C, H, W). One op serves BatchNorm1d and BatchNorm2d; it reads the input in
whatever memory layout it has (no copy to channels-last) and sums with einsum, which needs no
temporary for Σ a·b.

Training (m = N·L or N·H·W values per channel, batch statistics, biased variance):
    μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²,   x̂ = (x − μ)/√(σ² + ε),   y = γ·x̂ + β
Backward, with g = ∂C/∂y and every Σ over the m values of one channel:
    ∂C/∂β = Σ g,   ∂C/∂γ = Σ g·x̂
(two separate gradients: a study note writes "dγ/dβ", the derivative of γ with respect to β,
which is not a quantity of this computation — γ and β are independent parameters.)
    ∂C/∂x̂ = γ·g
    ∂C/∂x = (γ/(m·√(σ² + ε)))·(m·g − Σ g − x̂·Σ(g·x̂))
Derivation of the last line: x reaches y directly and through μ and σ². With s = √(σ² + ε),
∂μ/∂x_j = 1/m, ∂σ²/∂x_j = 2(x_j − μ)/m and ∂x̂_i/∂x_j = (δ_ij − 1/m)/s − x̂_i·x̂_j/(m·s), so
    ∂C/∂x_j = Σ_i γ g_i ∂x̂_i/∂x_j = (γ/(m·s))·(m·g_j − Σ_i g_i − x̂_j·Σ_i g_i x̂_i).
The two subtracted terms remove the components of g along the constant vector and along x̂:
the output of batch norm cannot move its own mean or variance.

Evaluation uses fixed running statistics, so y = γ·(x − μ_run)/√(var_run + ε) + β is affine in
x: ∂C/∂x = γ·g/√(var_run + ε), ∂C/∂γ = Σ g·x̂ and ∂C/∂β = Σ g as above.

Memory: both ops save the input x (which the graph holds anyway) and per-channel vectors, not
x̂; backward recomputes x̂ into the buffer that becomes ∂C/∂x.
"""

from __future__ import annotations

import math

import numpy as np

from bprop.autograd import ArrayFunction, Context


def _channel_shape(op: str, x: np.ndarray) -> tuple[int, ...]:
    """The shape that broadcasts a per-channel (C,) vector against x."""
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C), (N, C, L) or (N, C, H, W), got shape {x.shape}")
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _per_channel(op: str, name: str, value: np.ndarray | None, x: np.ndarray) -> np.ndarray | None:
    """A (C,) vector checked against x's channel count and cast to x's dtype (None stays None)."""
    if value is None:
        return None
    if value.shape != (x.shape[1],):
        raise ValueError(
            f"{op}: {name} must have one entry per channel, shape ({x.shape[1]},) for input of "
            f"shape {x.shape}, got {value.shape}"
        )
    return value.astype(x.dtype, copy=False)


def _subscripts(ndim: int) -> tuple[str, str]:
    """einsum strings for Σ a and Σ a·b over every axis except the channel axis 1."""
    axes = "abcdefghij"[:ndim]
    return f"{axes}->b", f"{axes},{axes}->b"


def _normalised(x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    x_hat = x - mean.reshape(shape)
    x_hat *= inv_std.reshape(shape)
    return x_hat


class BatchNormTrain(ArrayFunction):
    """y = γ·(x − μ)/√(σ² + ε) + β with the batch's μ and σ²; the compact fused backward above.

    Running statistics are the op's side effect, as in torch's F.batch_norm: when
    ``running_mean``/``running_var`` arrays are given they are updated in place,
    running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance
    σ²·m/(m − 1) for running_var. They are constants of the graph (no gradient).
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        running_mean: np.ndarray | None = None,
        running_var: np.ndarray | None = None,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> np.ndarray:
        op = "batch_norm"
        shape = _channel_shape(op, x)
        weight, bias = _per_channel(op, "weight", weight, x), _per_channel(op, "bias", bias, x)
        for name, value in (("running_mean", running_mean), ("running_var", running_var)):
            _per_channel(op, name, value, x)
        m = x.size // x.shape[1] if x.shape[1] else 0
        if m < 2:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of shape {x.shape}"
            )
        total, dot = _subscripts(x.ndim)
        mean = np.einsum(total, x) / m
        out = x - mean.reshape(shape)  # centred values; scaled and shifted in place into y
        var = np.einsum(dot, out, out) / m
        inv_std = 1.0 / np.sqrt(var + eps)
        out *= (inv_std if weight is None else weight * inv_std).reshape(shape)
        if bias is not None:
            out += bias.reshape(shape)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += (momentum * m / (m - 1)) * var
        ctx.x, ctx.mean, ctx.inv_std, ctx.weight = x, mean, inv_std, weight
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, mean, inv_std, weight = ctx.x, ctx.mean, ctx.inv_std, ctx.weight
        needs = ctx.needs_input_grad
        shape = _channel_shape("batch_norm", x)
        total, dot = _subscripts(grad_out.ndim)
        sum_g = np.einsum(total, grad_out) if needs[0] or needs[2] else None
        sum_g_xhat, gx = None, None
        if needs[0] or needs[1]:
            buffer = x - mean.reshape(shape)  # x − μ; becomes ∂C/∂x in place
            sum_g_xhat = np.einsum(dot, grad_out, buffer) * inv_std  # Σ g·x̂ = Σ g·(x − μ)/s
        if needs[0]:  # (γ/s)·(g − Σg/m − x̂·Σ(g·x̂)/m), one pass per term
            m = x.size // x.shape[1]
            buffer *= (inv_std * sum_g_xhat / -m).reshape(shape)
            buffer += grad_out
            buffer -= (sum_g / m).reshape(shape)
            buffer *= (inv_std if weight is None else weight * inv_std).reshape(shape)
            gx = buffer
        return gx, (sum_g_xhat if needs[1] else None), (sum_g if needs[2] else None), None, None


class BatchNormEval(ArrayFunction):
    """y = γ·(x − μ_run)/√(var_run + ε) + β with fixed statistics: an affine map per channel.

    ∂C/∂x = g·γ/√(var_run + ε),  ∂C/∂γ = Σ g·x̂,  ∂C/∂β = Σ g.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        running_mean: np.ndarray,
        running_var: np.ndarray,
        eps: float = 1e-5,
    ) -> np.ndarray:
        op = "batch_norm"
        shape = _channel_shape(op, x)
        weight, bias = _per_channel(op, "weight", weight, x), _per_channel(op, "bias", bias, x)
        # copies: a later training step may update the running arrays in place before backward
        mean = np.array(_per_channel(op, "running_mean", running_mean, x))
        _per_channel(op, "running_var", running_var, x)
        inv_std = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype)
        scale = inv_std if weight is None else weight * inv_std
        shift = -mean * scale if bias is None else bias - mean * scale
        out = x * scale.reshape(shape)
        out += shift.reshape(shape)
        ctx.x, ctx.mean, ctx.inv_std, ctx.scale = x, mean, inv_std, scale
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, mean, inv_std, scale = ctx.x, ctx.mean, ctx.inv_std, ctx.scale
        needs = ctx.needs_input_grad
        shape = _channel_shape("batch_norm", x)
        gx = grad_out * scale.reshape(shape) if needs[0] else None
        x_hat = _normalised(x, mean, inv_std, shape) if needs[1] else None
        total, dot = _subscripts(grad_out.ndim)
        gw = np.einsum(dot, grad_out, x_hat) if needs[1] else None
        gb = np.einsum(total, grad_out) if needs[2] else None
        return gx, gw, gb, None, None


# ---------------------------------------------------------------------------------------------
# Layer norm and group norm: the same normalisation, over the features of one sample (layer
# norm) or over one group of channels of one sample (group norm) instead of over the batch.
#
# Both reduce to rows: x reshaped to (M, D), each row normalised on its own,
#     μ = (1/D) Σ_j x_j,   σ² = (1/D) Σ_j (x_j − μ)²,   s = √(σ² + ε),   x̂ = (x − μ)/s.
# With a = ∂C/∂x̂ (one row), the batch-norm derivation above with m = D gives
#     ∂C/∂x = (1/(D·s))·(D·a − Σ_j a_j − x̂·Σ_j a_j x̂_j):
# x reaches x̂ directly (1/s), through μ (−1/(D·s) each) and through σ² (−x̂_i x̂_j/(D·s)).
# Only where the affine map sits differs: layer norm's γ, β have the normalised shape (one
# entry per feature j of a row), group norm's have one entry per channel (several per row).
# ---------------------------------------------------------------------------------------------


def _row_statistics(rows: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x̂, μ and 1/s of each row of an (M, D) array (biased variance, as torch)."""
    mean = rows.mean(axis=1, keepdims=True)
    x_hat = rows - mean
    var = np.einsum("md,md->m", x_hat, x_hat)[:, None] / rows.shape[1]
    inv_std = 1.0 / np.sqrt(var + np.asarray(eps, dtype=var.dtype))
    x_hat *= inv_std
    return x_hat, mean, inv_std


def _row_backward(a: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """∂C/∂x = (1/s)·(a − mean_j a − x̂·mean_j(a·x̂)) per row, for a = ∂C/∂x̂ of shape (M, D)."""
    d = a.shape[1]
    mean_a = a.sum(axis=1, keepdims=True) / d
    mean_ax = np.einsum("md,md->m", a, x_hat)[:, None] / d
    out = x_hat * -mean_ax
    out += a
    out -= mean_a
    out *= inv_std
    return out


def _normalized_shape(shape: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


class LayerNorm(ArrayFunction):
    """torch's layer_norm: each sample normalised over its last k dims, the ``normalized_shape``.

        y = γ ⊙ (x − μ)/√(σ² + ε) + β,  μ, σ² (biased) over the last k dims of one sample;
        γ, β of shape ``normalized_shape`` (or None).

    Backward (block comment above, rows = the last k dims flattened, D values each):
        ∂C/∂β = Σ_rows g,   ∂C/∂γ = Σ_rows g ⊙ x̂,   a = γ ⊙ g,
        ∂C/∂x = (1/s)·(a − mean(a) − x̂·mean(a ⊙ x̂))   per row.
    There are no running statistics: training and evaluation compute the same thing.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        normalized_shape: int | tuple[int, ...] = (),
        eps: float = 1e-5,
    ) -> np.ndarray:
        shape = _normalized_shape(normalized_shape)
        if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
            raise ValueError(
                f"layer_norm: normalized_shape {shape} must be the trailing dims of the input, got input of "
                f"shape {x.shape}"
            )
        for name, value in (("weight", weight), ("bias", bias)):
            if value is not None and value.shape != shape:
                raise ValueError(f"layer_norm: {name} must have shape normalized_shape {shape}, got {value.shape}")
        d = int(np.prod(shape))
        x_hat, _, inv_std = _row_statistics(x.reshape(-1, d), eps)
        out = x_hat.reshape(x.shape)
        if weight is not None:
            out = out * weight.astype(x.dtype, copy=False)
        if bias is not None:
            out = out + bias.astype(x.dtype, copy=False)
        ctx.x_hat, ctx.inv_std, ctx.weight = x_hat, inv_std, weight
        ctx.input_shape, ctx.normalized_shape = x.shape, shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x_hat, inv_std, weight = ctx.x_hat, ctx.inv_std, ctx.weight
        needs = ctx.needs_input_grad
        g = grad_out.reshape(x_hat.shape)
        gw = gb = gx = None
        if needs[1]:
            gw = np.einsum("md,md->d", g, x_hat).reshape(ctx.normalized_shape)
        if needs[2]:
            gb = g.sum(axis=0).reshape(ctx.normalized_shape)
        if needs[0]:
            a = g if weight is None else g * weight.reshape(-1).astype(g.dtype, copy=False)
            gx = _row_backward(a, x_hat, inv_std).reshape(ctx.input_shape)
        return gx, gw, gb


class GroupNorm(ArrayFunction):
    """torch's group_norm: the C channels of (N, C, *) split into G groups of C/G channels; each
    (sample, group) normalised over its C/G channels and all positions, D = (C/G)·Π spatial.

        y[n, c] = γ_c·x̂[n, c] + β_c,  x̂ from μ, σ² (biased) of the (n, group of c) block.

    Backward (block comment above, a row = one (n, group) block):
        ∂C/∂β_c = Σ_{n, positions} g[n, c],   ∂C/∂γ_c = Σ_{n, positions} g[n, c]·x̂[n, c],
        a = γ_c·g,   ∂C/∂x = (1/s)·(a − mean(a) − x̂·mean(a·x̂))   per row.
    G = 1 is layer norm over (C, *) with per-channel γ; G = C is instance norm.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        num_groups: int = 1,
        eps: float = 1e-5,
    ) -> np.ndarray:
        op = "group_norm"
        if x.ndim < 2:
            raise ValueError(f"{op}: input must be (N, C, *), got shape {x.shape}")
        if num_groups < 1 or x.shape[1] % num_groups:
            raise ValueError(f"{op}: num_groups {num_groups} must divide the {x.shape[1]} channels of input {x.shape}")
        weight, bias = _per_channel(op, "weight", weight, x), _per_channel(op, "bias", bias, x)
        n = x.shape[0]
        rows = (n * num_groups, x.shape[1] // num_groups * math.prod(x.shape[2:]))  # (N·G, D), also for N = 0
        x_hat, _, inv_std = _row_statistics(x.reshape(rows), eps)
        out = x_hat.reshape(x.shape)
        shape = _channel_shape(op, x)
        if weight is not None:
            out = out * weight.reshape(shape)
        if bias is not None:
            out = out + bias.reshape(shape)
        ctx.x_hat, ctx.inv_std, ctx.weight = x_hat, inv_std, weight
        ctx.input_shape = x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x_hat, inv_std, weight = ctx.x_hat, ctx.inv_std, ctx.weight
        needs = ctx.needs_input_grad
        shape = ctx.input_shape
        per_channel = (shape[0], shape[1], math.prod(shape[2:]))  # Σ over the batch and positions, per channel
        gw = gb = gx = None
        if needs[1]:
            gw = np.einsum("ncp,ncp->c", grad_out.reshape(per_channel), x_hat.reshape(per_channel))
        if needs[2]:
            gb = np.einsum("ncp->c", grad_out.reshape(per_channel))
        if needs[0]:
            a = grad_out if weight is None else grad_out * weight.reshape(_channel_shape("group_norm", grad_out))
            gx = _row_backward(a.reshape(x_hat.shape), x_hat, inv_std).reshape(shape)
        return gx, gw, gb
