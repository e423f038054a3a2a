"""Elementwise arithmetic with NumPy broadcasting.

For y = f(a, b) applied elementwise, ∂C/∂a = sum_to_shape(∂C/∂y ⊙ ∂f/∂a, a.shape): the local
derivative multiplies pointwise, and a broadcast input collects the gradient of every position
it was copied to (see ``autograd.sum_to_shape``).
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import ArrayFunction, Context, sum_to_shape
from bprop.dtypes import result_type


def _check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(
            f"{op}: shapes {np.shape(a)} and {np.shape(b)} do not broadcast (trailing dimensions must be equal or 1)"
        ) from None


class Add(ArrayFunction):
    """y = a + b.   ∂y/∂a = 1, ∂y/∂b = 1, so ∂C/∂a = Σ_broadcast ∂C/∂y (likewise b)."""

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_broadcast("add", a, b)
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        sa, sb = ctx.shapes
        return sum_to_shape(grad_out, sa), sum_to_shape(grad_out, sb)


class Sub(ArrayFunction):
    """y = a − b.   ∂C/∂a = Σ_broadcast ∂C/∂y,  ∂C/∂b = −Σ_broadcast ∂C/∂y."""

    promotion = "elementwise"
    takes_bool = False  # as torch: a − b of bools is refused, not promoted

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_broadcast("sub", a, b)
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        sa, sb = ctx.shapes
        gb = -sum_to_shape(grad_out, sb) if ctx.needs_input_grad[1] else None
        return sum_to_shape(grad_out, sa), gb


class Mul(ArrayFunction):
    """y = a ⊙ b.   ∂C/∂a = Σ_broadcast ∂C/∂y ⊙ b,  ∂C/∂b = Σ_broadcast ∂C/∂y ⊙ a."""

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_broadcast("mul", a, b)
        # as torch, keep only what the wanted gradients use: b * 0.5 lets b change in place later
        needs = ctx.needs_input_grad or (True, True)
        ctx.a, ctx.b = (a if needs[1] else None), (b if needs[0] else None)
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        (sa, sb), needs = ctx.shapes, ctx.needs_input_grad
        ga = sum_to_shape(grad_out * ctx.b, sa) if needs[0] else None
        gb = sum_to_shape(grad_out * ctx.a, sb) if needs[1] else None
        return ga, gb


class Div(ArrayFunction):
    """y = a / b.   ∂y/∂a = 1/b,  ∂y/∂b = −a/b² = −y/b."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_broadcast("div", a, b)
        out = np.true_divide(a, b)
        wants_b = not ctx.needs_input_grad or ctx.needs_input_grad[1]  # y is kept only for ∂C/∂b, as torch
        ctx.a_shape, ctx.b, ctx.out = np.shape(a), b, (out if wants_b else None)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        g_over_b = grad_out / ctx.b
        ga = sum_to_shape(g_over_b, ctx.a_shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(-g_over_b * ctx.out, np.shape(ctx.b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class PowScalar(ArrayFunction):
    """y = xᵖ for a constant p.   ∂y/∂x = p·xᵖ⁻¹ (0 for p = 0, also at x = 0, as torch)."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, exponent: float) -> np.ndarray:
        ctx.x, ctx.exponent = x, exponent
        if exponent == 2.0:
            return np.square(x)
        return np.power(x, np.asarray(exponent, dtype=x.dtype))

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x, p = ctx.x, ctx.exponent
        if p == 2.0:
            return (grad_out * (2 * x),)
        if p == 0.0:  # x⁰ = 1 is constant; p·x⁻¹ would give 0·∞ = nan at x = 0
            return (np.zeros_like(grad_out),)
        return (grad_out * (p * np.power(x, np.asarray(p - 1, dtype=x.dtype))),)


class Pow(ArrayFunction):
    """y = aᵇ with both differentiable.   ∂y/∂a = b·aᵇ⁻¹,  ∂y/∂b = aᵇ·ln a.

    At the edges, torch's choices (its pow_backward_self/_exponent): ∂y/∂a = 0 where b = 0 (aᵇ = 1
    is constant in a, though b·aᵇ⁻¹ would be 0·∞ at a = 0); ∂y/∂b = 0 where a = 0 and b ≥ 0
    (0ᵇ is flat in b there, though aᵇ·ln a would be 0·(−∞)); elsewhere the formulas as they fall,
    so ln of a negative base makes ∂y/∂b NaN and 0^b with b < 0 gives ±∞.
    """

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_broadcast("pow", a, b)
        if a.dtype == np.bool_ and b.dtype == np.bool_:
            raise RuntimeError("pow: a bool tensor to a bool power is not supported (as in torch)")
        with np.errstate(divide="ignore", invalid="ignore"):  # 0⁻¹ = ∞, (−2)^0.5 = NaN, as torch
            out = np.power(a, b)
        ctx.a, ctx.b, ctx.out = a, b, out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        a, b, out = ctx.a, ctx.b, ctx.out
        zero = np.zeros((), grad_out.dtype)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ctx.needs_input_grad[0]:
                ga = sum_to_shape(np.where(b == 0, zero, grad_out * (b * np.power(a, b - 1))), np.shape(a))
            if ctx.needs_input_grad[1]:
                gb = sum_to_shape(grad_out * np.where((a == 0) & (b >= 0), zero, out * np.log(a)), np.shape(b))
        return ga, gb


class Neg(ArrayFunction):
    """y = −x.   ∂C/∂x = −∂C/∂y."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (-grad_out,)


class Exp(ArrayFunction):
    """y = eˣ.   ∂y/∂x = eˣ = y (reuse the output)."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out * ctx.out,)


class Log(ArrayFunction):
    """y = ln x.   ∂y/∂x = 1/x."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.x = x
        return np.log(x)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out / ctx.x,)


class Sqrt(ArrayFunction):
    """y = √x.   ∂y/∂x = 1/(2√x) = 1/(2y)."""

    promotion = "float"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.sqrt(x)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out / (2 * ctx.out),)


class Abs(ArrayFunction):
    """y = |x|.   ∂y/∂x = sign(x), taken as 0 at x = 0 (the subgradient torch uses) and at NaN (torch's sgn)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.x = x
        return np.abs(x)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        x = ctx.x
        return (grad_out * ((x > 0).astype(grad_out.dtype) - (x < 0)),)  # sign(x) with sign(NaN) = 0


class Clip(ArrayFunction):
    """y = min(max(x, low), high).   ∂y/∂x = 1 where low ≤ x ≤ high, else 0 (as torch.clamp)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        ctx.inside = inside
        # torch: an integer tensor clamped to a float bound becomes float32 (the bound promotes)
        dtype = result_type(x, *(b.item() if isinstance(b, np.generic) else b for b in (low, high) if b is not None))
        return np.clip(x, low, high).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out * ctx.inside,)


class Where(ArrayFunction):
    """y = a where cond else b.   ∂C/∂a = Σ_broadcast cond ⊙ ∂C/∂y,  ∂C/∂b = Σ_broadcast ¬cond ⊙ ∂C/∂y."""

    promotion = "elementwise"
    promotes_from = 1  # the condition is not promoted

    @staticmethod
    def forward(ctx: Context, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        cond = np.asarray(cond, dtype=bool)
        ctx.cond = cond
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        cond, (sa, sb) = ctx.cond, ctx.shapes
        zero = np.zeros((), dtype=grad_out.dtype)
        ga = sum_to_shape(np.where(cond, grad_out, zero), sa) if ctx.needs_input_grad[1] else None
        gb = sum_to_shape(np.where(cond, zero, grad_out), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Cast(ArrayFunction):
    """y = x converted to another dtype.   ∂C/∂x = ∂C/∂y converted back."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        ctx.source = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        if not np.issubdtype(ctx.source, np.floating):
            return (None,)
        return (grad_out.astype(ctx.source),)


class Sin(ArrayFunction):
    """y = sin x.   ∂y/∂x = cos x."""

    promotion = "float"  # an integer tensor gives float32, as torch.sin

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.x = x
        with np.errstate(invalid="ignore"):  # sin(±∞) is NaN, as in torch, without a warning
            return np.sin(x)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        with np.errstate(invalid="ignore"):
            return (grad_out * np.cos(ctx.x),)


class Cos(ArrayFunction):
    """y = cos x.   ∂y/∂x = −sin x."""

    promotion = "float"  # an integer tensor gives float32, as torch.cos

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.x = x
        with np.errstate(invalid="ignore"):  # cos(±∞) is NaN, as in torch, without a warning
            return np.cos(x)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        with np.errstate(invalid="ignore"):
            return (-grad_out * np.sin(ctx.x),)
