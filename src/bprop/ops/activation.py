"""Activations σ and the softmax family. For elementwise a = σ(z) the backward is the notes'
σ'(z) ⊙ ∂C/∂a; each op keeps whichever of z or a makes σ' cheapest."""

from __future__ import annotations

import math

import numpy as np

from bprop.autograd import ArrayFunction, Context
from bprop.ops.kernels.elementwise import unary
from bprop.ops.kernels.relu import relu_array, relu_backward_array
from bprop.ops.special import normal_cdf

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class Tanh(ArrayFunction):
    """a = tanh z.   σ'(z) = 1 − tanh² z = 1 − a²."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = unary(np.tanh, x)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        # one array (an array even for 0-d: out=), reused for 1 − a² and δ(1 − a²)
        slope = np.multiply(ctx.out, ctx.out, out=np.empty_like(ctx.out))
        np.subtract(1, slope, out=slope)
        return (np.multiply(grad_out, slope, out=slope if slope.shape == grad_out.shape else None),)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e⁻ᶻ) without overflow: with e = e^{−|z|} ≤ 1, σ = 1/(1+e) for z ≥ 0 and
    e/(1+e) for z < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(ArrayFunction):
    """a = σ(z) = 1/(1 + e⁻ᶻ).   σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = sigmoid_array(x)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out * (ctx.out * (1 - ctx.out)),)


class ReLU(ArrayFunction):
    """a = max(z, 0).   σ'(z) = 1 for z > 0, else 0 (0 at z = 0 and 1 at NaN, as torch)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = relu_array(x)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (relu_backward_array(ctx.out, grad_out),)


class LeakyReLU(ArrayFunction):
    """a = z for z > 0, else s·z.   σ'(z) = 1 for z > 0, else s."""

    float_inputs = "all"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        positive = x > 0
        ctx.positive = positive
        ctx.slope = negative_slope
        return np.where(positive, x, x * np.asarray(negative_slope, x.dtype))

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (np.where(ctx.positive, grad_out, grad_out * np.asarray(ctx.slope, grad_out.dtype)),)


class GELU(ArrayFunction):
    """a = z·Φ(z), Φ the standard normal CDF, Φ(z) = ½(1 + erf(z/√2)) (ops.special, exact to rounding).

    Exact:  σ'(z) = Φ(z) + z·φ(z), φ(z) = e^{−z²/2}/√(2π).
    approximate='tanh':  a = ½z(1 + tanh u), u = √(2/π)(z + 0.044715 z³),
            σ'(z) = ½(1 + tanh u) + ½z(1 − tanh² u)·√(2/π)(1 + 3·0.044715 z²).
    """

    float_inputs = "all"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, approximate: str = "none") -> np.ndarray:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        ctx.x, ctx.approximate = x, approximate
        with np.errstate(over="ignore", invalid="ignore"):  # ±∞ inputs: NaN where torch gives NaN
            if approximate == "tanh":
                t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3))
                return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
            return (x * normal_cdf(x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x = ctx.x
        with np.errstate(over="ignore", invalid="ignore"):
            if ctx.approximate == "tanh":
                t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3))
                du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
                local = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
            else:
                x64 = x.astype(np.float64, copy=False)
                local = normal_cdf(x64) + x64 * (np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi))
        return ((grad_out * local).astype(grad_out.dtype, copy=False),)


def softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """Stable softmax: subtracting max x changes nothing mathematically and keeps exp ≤ 1."""
    if x.shape[axis] == 0:  # nothing to normalise: an empty result, as torch
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)
    return shifted


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """log softmax = (x − m) − log Σ e^{x − m}, m = max x, so nothing overflows."""
    if x.shape[axis] == 0:  # nothing to normalise: an empty result, as torch
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


class Softmax(ArrayFunction):
    """p_i = e^{x_i} / Σ_j e^{x_j} along ``dim``.

    ∂p_i/∂x_k = p_i(δ_ik − p_k), so ∂C/∂x_k = Σ_i g_i p_i(δ_ik − p_k) = p_k (g_k − Σ_i g_i p_i).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int = -1) -> np.ndarray:
        p = softmax_array(x, dim)
        ctx.p, ctx.dim = p, dim
        return p

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        p = ctx.p
        return (p * (grad_out - (grad_out * p).sum(axis=ctx.dim, keepdims=True)),)


class LogSoftmax(ArrayFunction):
    """y_i = x_i − log Σ_j e^{x_j} along ``dim``.

    ∂y_i/∂x_k = δ_ik − p_k (p = softmax x), so ∂C/∂x_k = g_k − p_k Σ_i g_i.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int = -1) -> np.ndarray:
        out = log_softmax_array(x, dim)
        ctx.out = out
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out - np.exp(ctx.out) * grad_out.sum(axis=ctx.dim, keepdims=True),)
