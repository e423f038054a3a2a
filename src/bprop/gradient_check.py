"""Numerical gradients: the notes' "nudge one parameter, watch the loss".

For a scalar loss L(θ), the centred difference (L(θ + ε e_k) − L(θ − ε e_k)) / 2ε matches
∂L/∂θ_k up to O(ε²), against O(ε) for the one-sided difference, which is why every backward
pass in bprop is checked with it, in float64.

``gradcheck`` reduces any output y = f(x) to a scalar L = Σ v ⊙ y with a fixed random v, so
one backward pass with grad v gives the analytic vector–Jacobian product vᵀ ∂y/∂x, and each
input element is nudged once each way to get the same quantity numerically.

The module is ``gradient_check`` (cs231n's name for the same thing), not ``gradcheck`` as
DESIGN.md lists it: the package exports the function ``bp.gradcheck`` (torch's name), and a
module of the same name would be shadowed by it, so ``import bprop.gradcheck`` gave the function.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from bprop.autograd import no_grad
from bprop.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂loss/∂array by centred differences, nudging ``array`` in place (restored after each)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat_grad = grad.reshape(-1)
    for k, index in enumerate(np.ndindex(array.shape)):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        flat_grad[k] = (plus - minus) / (2 * eps)
    return grad


def _as_inputs(inputs: Any) -> list[Any]:
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    return [
        Tensor(np.asarray(x, dtype=np.float64), requires_grad=True) if isinstance(x, np.ndarray) else x for x in items
    ]


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any] | Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check the analytic gradient of ``fn`` with respect to every input that requires grad.

    ``inputs`` holds Tensors (those with requires_grad are checked; use float64) and other
    arguments passed through. An element passes when |analytic − numerical| ≤ atol +
    rtol·|numerical|. On failure raises GradcheckError naming the input, the worst index, both
    values and the relative error (or returns False when raise_exception=False).
    """
    args = _as_inputs(inputs)
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if args[i].dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {args[i].dtype}; finite differences need float64 to be meaningful",
                stacklevel=2,
            )
        if not args[i]._data.flags.writeable or not args[i]._data.flags.c_contiguous:
            args[i]._data = args[i]._data.copy(order="C")  # nudged in place below
        args[i].grad = None

    out = fn(*args)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError("gradcheck: fn must return a Tensor that depends on the checked inputs")
    projection = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(projection)

    def loss() -> float:
        with no_grad():
            return float(np.sum(fn(*args)._data.astype(np.float64) * projection))

    for i in checked:
        analytic = args[i]._grad._data if args[i]._grad is not None else np.zeros(args[i].shape)
        numeric = numerical_gradient(loss, args[i]._data, eps)
        error = np.abs(analytic - numeric)
        bound = atol + rtol * np.abs(numeric)
        # equal values pass (infinities included); otherwise the bound must be finite, or an
        # infinite numerical gradient would accept any analytic one (inf ≤ inf)
        agree = (analytic == numeric) | (np.isfinite(numeric) & (error <= bound))
        if np.all(agree):
            continue
        worst = np.unravel_index(
            np.argmax(np.where(agree, -np.inf, np.nan_to_num(error - bound, nan=np.inf))), error.shape
        )
        relative = error[worst] / max(abs(numeric[worst]), 1e-12)
        message = (
            f"gradcheck failed for input {i} (shape {args[i].shape}) at index "
            f"{tuple(int(k) for k in worst)}: analytic {analytic[worst]:.8g}, numerical "
            f"{numeric[worst]:.8g}, relative error {relative:.3g} "
            f"({int(np.sum(~agree))} of {error.size} elements off)"
        )
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True
