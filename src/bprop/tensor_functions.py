"""Module-level forms of the tensor ops (``bp.exp(x)``, ``bp.cat([a, b])``, …), as in torch."""

from __future__ import annotations

from typing import Any, Sequence

from bprop.ops import activation, elementwise, linalg, shape
from bprop.tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x: Tensor) -> Tensor:
    return _t(x).exp()


def log(x: Tensor) -> Tensor:
    return _t(x).log()


def sqrt(x: Tensor) -> Tensor:
    return _t(x).sqrt()


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return _t(x).abs()


def tanh(x: Tensor) -> Tensor:
    return _t(x).tanh()


def sigmoid(x: Tensor) -> Tensor:
    return _t(x).sigmoid()


def relu(x: Tensor) -> Tensor:
    return _t(x).relu()


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    return _t(x).clip(min, max)


clamp = clip


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return linalg.MatMul.apply(_t(a), _t(b))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise a where condition holds, else b (condition gets no gradient)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else _t(a)
    return elementwise.Where.apply(
        cond, like._operand(a) if not isinstance(a, Tensor) else a, like._operand(b) if not isinstance(b, Tensor) else b
    )


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    return shape.Concatenate.apply(*[_t(t) for t in tensors], dim=dim)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return shape.Stack.apply(*[_t(t) for t in tensors], dim=dim)


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding, torch's convention: (left, right) of the last dim first."""
    return shape.Pad.apply(_t(x), pad=tuple(pad), value=value)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(x).flatten(start_dim, end_dim)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return activation.Softmax.apply(_t(x), dim=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return activation.LogSoftmax.apply(_t(x), dim=dim)
