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


# ----- torch's function forms of Tensor methods: torch.sin(x) is x.sin() --------------------------
def _from_method(name: str) -> Any:
    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(_t(input), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"torch.{name}(input, …): the same as ``input.{name}(…)``."
    return function


sin = _from_method("sin")
cos = _from_method("cos")
pow = _from_method("pow")  # noqa: A001
square = _from_method("square")
neg = _from_method("neg")
sum = _from_method("sum")  # noqa: A001
mean = _from_method("mean")
var = _from_method("var")
std = _from_method("std")
max = _from_method("max")  # noqa: A001
min = _from_method("min")  # noqa: A001
amax = _from_method("amax")
amin = _from_method("amin")
argmax = _from_method("argmax")
argmin = _from_method("argmin")
topk = _from_method("topk")
sort = _from_method("sort")
argsort = _from_method("argsort")
tril = _from_method("tril")
triu = _from_method("triu")
masked_fill = _from_method("masked_fill")
split = _from_method("split")
chunk = _from_method("chunk")
unbind = _from_method("unbind")
gather = _from_method("gather")
scatter = _from_method("scatter")
index_select = _from_method("index_select")
mm = _from_method("mm")
bmm = _from_method("bmm")
reshape = _from_method("reshape")
transpose = _from_method("transpose")
permute = _from_method("permute")
squeeze = _from_method("squeeze")
unsqueeze = _from_method("unsqueeze")
t = _from_method("t")
clone = _from_method("clone")
eq = _from_method("eq")
ne = _from_method("ne")
lt = _from_method("lt")
le = _from_method("le")
gt = _from_method("gt")
ge = _from_method("ge")
equal = _from_method("equal")
add = _from_method("add")
sub = _from_method("sub")
mul = _from_method("mul")
div = _from_method("div")


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum(equation, a, b, …) (operands also as one list), differentiable in each."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return linalg.Einsum.apply(*[_t(x) for x in operands], equation=equation)
