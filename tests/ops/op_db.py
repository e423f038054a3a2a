"""The op table (the idea of torch's OpInfo): one ``OpInfo`` per ``ArrayFunction`` subclass in bprop.ops.

tests/ops/test_op_db.py runs every sample of every entry through the same checks: centred finite
differences in float64 with a random upstream gradient, torch parity of forward and backward,
the torch-free reference, the op contract in float32 and float64 (dtypes kept, gradients shaped
like their inputs, inputs left untouched), NaN in → NaN out under a time limit, and an empty
batch. A meta-test fails when an op in bprop.ops has no entry here.

How to add an op: append one OpInfo to OPS, e.g.

    OpInfo(
        Softplus,                                      # the ArrayFunction subclass
        samples=unary(kinks=()),                       # rng -> list[Sample]; or your own generator
        torch=lambda torch, x, beta=1.0: torch.nn.functional.softplus(x, beta),
        ref=lambda x, beta=1.0: np.log1p(np.exp(beta * x)) / beta,    # float64, no torch
        ref_grad=lambda g, x, beta=1.0: (g * ref.sigmoid(beta * x),),  # one entry per input
    )

- ``samples(rng)`` returns Samples: ``args`` are the positional inputs of ``Op.apply`` (floating
  arrays are differentiable unless ``grad=`` lists the ones that are), ``kwargs`` its attributes.
  The generators below (unary, binary) give the standard cases: odd sizes, size-1 and empty
  dims, 0-d, exact kinks and ties (``fd=False``: finite differences are meaningless there),
  extremes ±50 and ±1e4, and NaN/±inf. Write your own list for ops with structure.
- ``torch`` takes the same arguments as torch tensors (integer arrays become int64 tensors,
  array kwargs tensors); ``ref`` and ``ref_grad`` take the float64 NumPy arrays. ``ref_grad``
  returns one gradient per positional input (None where there is none); ``affine_vjp(ref)``
  builds it for ops that are affine in each input (reshapes, sums, products, convolutions).
- A known wrong answer being fixed elsewhere: ``Sample(..., xfail={"torch": "reason"})``
  (keys: gradcheck, torch, reference, contract, nan, or "all"); strict, so remove it once fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from bprop import reference as ref
from bprop.autograd import ArrayFunction, Context
from bprop.ops import (
    activation,
    attention,
    conv,
    cross_entropy,
    dropout,
    elementwise,
    embedding,
    linalg,
    loss,
    normalization,
    pooling,
    recurrent,
    reduction,
    shape,
)
from bprop.random import generator, manual_seed

# ---------------------------------------------------------------------------------------------
# Table structure
# ---------------------------------------------------------------------------------------------

TESTS = ("gradcheck", "torch", "reference", "contract", "nan")


@dataclass
class Sample:
    """One call of an op: ``Op.apply(*args, **kwargs)`` (float64 arrays; tests cast them)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    fd: bool = True  # False at kinks, ties and non-finite values: finite differences mean nothing
    grad: tuple[int, ...] | None = None  # differentiable args; default: every floating array
    raises: type[Exception] | None = None  # the op must refuse this input with that error
    xfail: dict[str, str] = field(default_factory=dict)  # test name (or "all") -> reason
    grad_at_nan: bool = True  # False: where an input is NaN its slope is undefined; oracles may differ

    def differentiable(self) -> tuple[int, ...]:
        if self.grad is not None:
            return self.grad
        return tuple(i for i, a in enumerate(self.args) if is_float_array(a))

    def is_empty(self) -> bool:
        return any(isinstance(a, np.ndarray) and a.size == 0 for a in self.args)

    def is_finite(self) -> bool:
        arrays = [a for a in (*self.args, *self.kwargs.values()) if is_float_array(a)]
        return all(np.isfinite(a).all() for a in arrays)


@dataclass
class OpInfo:
    op: type[ArrayFunction]
    samples: Callable[[np.random.Generator], list[Sample]]
    torch: Callable[..., Any] | None = None  # (torch, *args, **kwargs) -> torch.Tensor
    ref: Callable[..., Any] | None = None  # (*args, **kwargs) -> ndarray, float64, no torch
    ref_grad: Callable[..., Any] | None = None  # (grad_out, *args, **kwargs) -> tuple per arg
    tol: dict[Any, tuple[float, float]] = field(default_factory=dict)  # dtype -> (atol, rtol)
    random: bool = False  # forward draws random numbers: every call runs after manual_seed(SEED)
    nan_propagates: bool = True  # NaN in the first differentiable input shows up in the output
    keeps_dtype: bool = True  # output dtype = input dtype (not for Cast)
    mutates: tuple[int, ...] = ()  # args the op updates in place by design (running statistics)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.op.__name__
        self.tol = {np.float64: (1e-9, 1e-7), np.float32: (1e-5, 2e-4), **self.tol}


SEED = 0  # random ops run after manual_seed(SEED), so every forward draws the same mask


def is_float_array(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


# ---------------------------------------------------------------------------------------------
# Torch-free oracles
# ---------------------------------------------------------------------------------------------


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Σ of g over the positions an input of ``shape`` was copied to by broadcasting."""
    g = np.asarray(g, dtype=np.float64)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


def affine_vjp(forward: Callable[..., Any]) -> Callable[..., Any]:
    """The backward of an op that is affine in each input on its own, from its forward alone.

    Column k of ∂y/∂x_i is forward(x_i = e_k) − forward(x_i = 0) with the other inputs fixed, so
    ∂C/∂x_i[k] = Σ g ⊙ (that column). Needs finite inputs (∞ − ∞ is NaN): returns None otherwise.
    """

    def vjp(g: np.ndarray, *args: Any, **kwargs: Any) -> tuple | None:
        if not all(np.isfinite(a).all() for a in args if is_float_array(a)):
            return None
        grads: list[np.ndarray | None] = []
        for i, a in enumerate(args):
            if not is_float_array(a):
                grads.append(None)
                continue

            def at(value: np.ndarray, i: int = i) -> np.ndarray:
                return np.asarray(forward(*args[:i], value, *args[i + 1 :], **kwargs), dtype=np.float64)

            base, grad = at(np.zeros_like(a)), np.zeros(a.shape)
            for k in np.ndindex(a.shape):
                unit = np.zeros_like(a)
                unit[k] = 1.0
                grad[k] = np.sum(g * (at(unit) - base))
            grads.append(grad)
        return tuple(grads)

    return vjp


def elementwise_grad(derivative: Callable[..., Any]) -> Callable[..., Any]:
    """ref_grad of a unary elementwise op from its derivative σ′: (g ⊙ σ′(x),)."""
    return lambda g, x, **kw: (g * derivative(x, **kw),)


def along(fn: Callable[..., np.ndarray], dim: int, *arrays: np.ndarray) -> np.ndarray:
    """fn applied to every 1-D slice along ``dim`` (of all arrays at once)."""
    moved = [np.moveaxis(np.asarray(a, dtype=np.float64), dim, -1) for a in arrays]
    out = np.zeros(moved[0].shape)
    for index in np.ndindex(moved[0].shape[:-1]):
        out[index] = fn(*(m[index] for m in moved))
    return np.moveaxis(out, -1, dim)


def _pair(value: Any, name: str = "") -> tuple[int, int]:
    """torch's int-or-pair convention for conv and pooling arguments."""
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def dropout_mask(shape: tuple[int, ...], p: float) -> np.ndarray:
    """The keep mask Dropout draws first after manual_seed(SEED): m_i = [u_i ≥ p], u ~ U[0, 1)."""
    manual_seed(SEED)
    return (generator().random(shape, dtype=np.float32) >= p).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Sample generators
# ---------------------------------------------------------------------------------------------

EXTREMES = np.array([-1e4, -50.0, 50.0, 1e4])
NONFINITE = np.array([np.nan, np.inf, -np.inf, 1.5])


def _away_from(x: np.ndarray, kinks: tuple[float, ...], gap: float = 1e-3) -> np.ndarray:
    """x with values closer than ``gap`` to a kink moved away (finite differences straddle no kink)."""
    for k in kinks:
        close = np.abs(x - k) < gap
        x = np.where(close, k + np.where(x >= k, gap, -gap), x)
    return x


def unary(
    kinks: tuple[float, ...] = (),
    positive: bool = False,
    extremes: np.ndarray | None = EXTREMES,
    extremes_fd: bool = True,
    grad_at_nan: bool = True,
    **kwargs: Any,
) -> Callable[[np.random.Generator], list[Sample]]:
    """Standard cases of an elementwise op of one input: odd sizes, size-1, 0-d and empty shapes,
    exact kinks, extremes and non-finite values. ``positive`` keeps x in [0.5, 2.5) (log, sqrt);
    ``grad_at_nan=False`` leaves the gradient at a NaN input out of the oracle comparisons."""

    def draw(rng: np.random.Generator, *shape: int) -> np.ndarray:
        x = rng.random(shape) * 2 + 0.5 if positive else rng.standard_normal(shape) * 1.5
        return _away_from(np.asarray(x), kinks)

    def samples(rng: np.random.Generator) -> list[Sample]:
        out = [
            Sample("3x5", (draw(rng, 3, 5),), kwargs),
            Sample("size1-1x4x1", (draw(rng, 1, 4, 1),), kwargs),
            Sample("0d", (draw(rng),), kwargs),
            Sample("empty-0x3", (draw(rng, 0, 3),), kwargs),
        ]
        if kinks:
            at = np.array([k + d for k in kinks for d in (0.0, 0.0, -0.5, 0.5)])
            out.append(Sample("kinks", (at,), kwargs, fd=False))
        if extremes is not None:
            out.append(Sample("extremes", (np.array(extremes, dtype=np.float64),), kwargs, fd=extremes_fd))
        out.append(Sample("nonfinite", (NONFINITE.copy(),), kwargs, fd=False, grad_at_nan=grad_at_nan))
        return out

    return samples


BROADCAST_SHAPES = [  # (a, b): equal, both ways, leading dims, 0-d, size 1, odd, empty
    ("3x4+3x4", (3, 4), (3, 4)),
    ("3x1+1x4", (3, 1), (1, 4)),
    ("4+2x3x4", (4,), (2, 3, 4)),
    ("2x3x5+3x1", (2, 3, 5), (3, 1)),
    ("0d+2x3", (), (2, 3)),
    ("1x1+1", (1, 1), (1,)),
    ("empty-0x3+3", (0, 3), (3,)),
]


def binary(
    a_positive: bool = False, b_nonzero: bool = False, **kwargs: Any
) -> Callable[[np.random.Generator], list[Sample]]:
    """Standard cases of an elementwise op of two broadcast inputs."""

    def draw(rng: np.random.Generator, shape: tuple[int, ...], positive: bool, nonzero: bool) -> np.ndarray:
        if positive:
            return np.asarray(rng.random(shape) * 2 + 0.5)
        if nonzero:
            return np.asarray((rng.random(shape) + 0.5) * rng.choice([-1.0, 1.0], shape))
        return np.asarray(rng.standard_normal(shape))

    def samples(rng: np.random.Generator) -> list[Sample]:
        out = [
            Sample(name, (draw(rng, sa, a_positive, False), draw(rng, sb, False, b_nonzero)), kwargs)
            for name, sa, sb in BROADCAST_SHAPES
        ]
        a_ext = np.abs(EXTREMES) if a_positive else EXTREMES
        b_ext = np.array([3.0, -2.0, 0.5, 1.5]) if b_nonzero or a_positive else EXTREMES[::-1].copy()
        out.append(Sample("extremes", (a_ext.copy(), b_ext), kwargs))
        out.append(Sample("nonfinite", (NONFINITE.copy(), np.array([1.0, 2.0, np.inf, np.nan])), kwargs, fd=False))
        return out

    return samples


def _reduction_samples(extra: dict | None = None, ties: bool = True) -> Callable[[np.random.Generator], list[Sample]]:
    extra = extra or {}

    def samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((2, 3, 4))
        out = [
            Sample("all", (x,), {"dim": None, "keepdim": False, **extra}),
            Sample("dim1", (x,), {"dim": 1, "keepdim": False, **extra}),
            Sample("dims0,2-keepdim", (x,), {"dim": (0, 2), "keepdim": True, **extra}),
            Sample("dim-1-keepdim", (rng.standard_normal((3, 5)),), {"dim": -1, "keepdim": True, **extra}),
            Sample("negative-dims-1,0", (x,), {"dim": (-1, 0), "keepdim": False, **extra}),
            Sample("empty-tuple-keepdim", (x,), {"dim": (), "keepdim": True, **extra}),
            Sample("all-keepdim", (x,), {"dim": None, "keepdim": True, **extra}),
            Sample("size1-1x5-dim0", (rng.standard_normal((1, 5)),), {"dim": 0, "keepdim": False, **extra}),
            Sample("0d", (np.array(rng.standard_normal()),), {"dim": None, "keepdim": False, **extra}),
            Sample("empty-0x3-dim1", (np.zeros((0, 3)),), {"dim": 1, "keepdim": False, **extra}),
            Sample("extremes", (np.array([EXTREMES, EXTREMES[::-1]]),), {"dim": 1, "keepdim": False, **extra}),
            Sample(
                "nonfinite", (np.array([NONFINITE, [1.0, 2, 3, 4]]),), {"dim": 1, "keepdim": False, **extra}, fd=False
            ),
        ]
        if ties:
            tied = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0]])
            out.append(Sample("ties", (tied,), {"dim": 1, "keepdim": False, **extra}, fd=False))
        return out

    return samples


def _torch_reduce(method: str) -> Callable[..., Any]:
    """torch's x.sum()/x.sum(dim, keepdim) and friends; () and None both mean every dim."""

    def call(torch: Any, x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        if dim is None or dim == ():
            out = getattr(x, method)(**kw)
            return out.reshape((1,) * x.ndim) if keepdim else out
        return getattr(x, method)(dim=dim, keepdim=keepdim, **kw)

    return call


def _torch_norm(torch: Any, x: Any, p: float, dim: Any = None, keepdim: bool = False) -> Any:
    return torch.linalg.vector_norm(x, ord=p, dim=None if dim == () else dim, keepdim=keepdim)


def _np_reduce(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def call(x: np.ndarray, dim: Any = None, keepdim: bool = False, **kw: Any) -> np.ndarray:
        axis = None if dim is None or dim == () else dim
        with np.errstate(invalid="ignore", divide="ignore"):
            return fn(x, axis=axis, keepdims=keepdim, **kw)

    return call


def _extreme_grad(pick: Callable[..., np.ndarray]) -> Callable[..., tuple]:
    """∂max/∂x_i = 1/(number of ties) at each maximum of the slice, 0 elsewhere."""

    def grad(g: np.ndarray, x: np.ndarray, dim: Any = None, keepdim: bool = False) -> tuple:
        axis = None if dim is None or dim == () else dim
        best = pick(x, axis=axis, keepdims=True)
        hit = x == best
        with np.errstate(invalid="ignore"):  # a slice with NaN has no maximum to send δ to: NaN
            share = hit / hit.sum(axis=axis, keepdims=True)
        g_kept = g if keepdim or axis is None else np.expand_dims(g, axis)
        return (g_kept * share,)

    return grad


def _std_grad(g: np.ndarray, x: np.ndarray, dim: Any = None, keepdim: bool = False, correction: int = 1) -> tuple:
    """∂std/∂x_i = (x_i − μ)/((N − c)·std), and 0 where std = 0 (a constant slice), as torch."""
    axis = None if dim is None or dim == () else dim
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
    n = math.prod(x.shape[a] for a in axes)
    g_kept = g if keepdim or axis is None else np.expand_dims(g, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.std(x, axis=axis, ddof=correction, keepdims=True)
        return (g_kept * np.where(std == 0, 0.0, (x - x.mean(axis=axis, keepdims=True)) / ((n - correction) * std)),)


def _norm_ref(x: np.ndarray, p: float, dim: Any = None, keepdim: bool = False) -> np.ndarray:
    axis = None if dim is None or dim == () else dim
    with np.errstate(invalid="ignore", over="ignore"):
        if p == np.inf:
            return np.max(np.abs(x), axis=axis, keepdims=keepdim)
        return np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdim) ** (1 / p)


def _norm_grad(g: np.ndarray, x: np.ndarray, p: float, dim: Any = None, keepdim: bool = False) -> tuple:
    """∂‖x‖_p/∂x_i = sign(x_i)|x_i|^(p−1)/‖x‖^(p−1), 0 where the norm is 0; p = ∞: ties share sign(x_i)."""
    axis = None if dim is None or dim == () else dim
    y = _norm_ref(x, p, dim, keepdim=True)
    g_kept = g if keepdim or axis is None else np.expand_dims(g, axis)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if p == np.inf:
            hit = (np.abs(x) == y) | np.isnan(x)
            return (g_kept * np.sign(x) * hit / hit.sum(axis=axis, keepdims=True),)
        return (g_kept * np.where(y == 0, 0.0, np.sign(x) * np.abs(x) ** (p - 1) / y ** (p - 1)),)


def _var_grad(g: np.ndarray, x: np.ndarray, dim: Any = None, keepdim: bool = False, correction: int = 1) -> tuple:
    """∂var/∂x_i = 2(x_i − μ)/(N − c)."""
    axis = None if dim is None or dim == () else dim
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
    n = math.prod(x.shape[a] for a in axes)
    g_kept = g if keepdim or axis is None else np.expand_dims(g, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (g_kept * 2 * (x - x.mean(axis=axis, keepdims=True)) / (n - correction),)


# ---------------------------------------------------------------------------------------------
# Entries, family by family
# ---------------------------------------------------------------------------------------------


def _activations() -> list[OpInfo]:
    def gelu_samples(rng: np.random.Generator) -> list[Sample]:
        out = []
        for approximate in ("none", "tanh"):
            for s in unary(approximate=approximate)(rng):
                s.name = f"{approximate}-{s.name}"
                out.append(s)
        return out

    def softmax_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("3x5-dim-1", (rng.standard_normal((3, 5)),), {"dim": -1}),
            Sample("2x3x2-dim1", (rng.standard_normal((2, 3, 2)),), {"dim": 1}),
            Sample("size1-1x4-dim0", (rng.standard_normal((1, 4)),), {"dim": 0}),
            Sample("empty-0x3-dim1", (np.zeros((0, 3)),), {"dim": 1}),
            Sample("ties", (np.array([[2.0, 2.0, 2.0], [0.0, 1.0, 1.0]]),), {"dim": 1}),
            Sample("extremes", (np.array([[-1e4, 0.0, 1e4], [50.0, -50.0, 50.0]]),), {"dim": 1}),
            Sample("nonfinite", (np.array([[np.nan, 1.0, 2.0], [-np.inf, 0.0, 1.0]]),), {"dim": 1}, fd=False),
        ]

    torch_f = lambda name: lambda torch, x, **kw: getattr(torch.nn.functional, name)(x, **kw)  # noqa: E731
    return [
        OpInfo(
            activation.Tanh,
            unary(),
            torch=lambda torch, x: torch.tanh(x),
            ref=ref.tanh,
            ref_grad=elementwise_grad(ref.tanh_prime),
        ),
        OpInfo(
            activation.Sigmoid,
            unary(),
            torch=lambda torch, x: torch.sigmoid(x),
            ref=ref.sigmoid,
            ref_grad=elementwise_grad(ref.sigmoid_prime),
        ),
        OpInfo(
            activation.ReLU,
            unary(kinks=(0.0,), grad_at_nan=False),  # at NaN bprop passes δ as torch; the textbook relu′ gives 0
            torch=lambda torch, x: torch.relu(x),
            ref=ref.relu,
            ref_grad=elementwise_grad(ref.relu_prime),
        ),
        OpInfo(
            activation.LeakyReLU,
            lambda rng: [
                *unary(kinks=(0.0,))(rng),
                *(replace(s, name=f"slope0.2-{s.name}") for s in unary(kinks=(0.0,), negative_slope=0.2)(rng)[::4]),
            ],
            torch=torch_f("leaky_relu"),
            ref=ref.leaky_relu,
            ref_grad=elementwise_grad(ref.leaky_relu_prime),
        ),
        OpInfo(
            activation.GELU,
            gelu_samples,
            torch=torch_f("gelu"),
            ref=ref.gelu,
            ref_grad=elementwise_grad(ref.gelu_prime),
        ),
        OpInfo(
            activation.Softmax,
            softmax_samples,
            torch=lambda torch, x, dim: torch.softmax(x, dim),
            ref=lambda x, dim: along(ref.softmax, dim, x),
            ref_grad=lambda g, x, dim: (along(ref.softmax_backward, dim, x, g),),
        ),
        OpInfo(
            activation.LogSoftmax,
            softmax_samples,
            torch=lambda torch, x, dim: torch.log_softmax(x, dim),
            ref=lambda x, dim: along(ref.log_softmax, dim, x),
            ref_grad=lambda g, x, dim: (along(ref.log_softmax_backward, dim, x, g),),
        ),
    ]


def _elementwise() -> list[OpInfo]:
    def pow_scalar_samples(rng: np.random.Generator) -> list[Sample]:
        x, pos = rng.standard_normal((3, 4)), rng.random((2, 3)) + 0.5
        out = [Sample(f"3x4-p{p:g}", (x,), {"exponent": p}) for p in (2.0, 3.0, 1.0, 0.0)]
        out += [Sample(f"positive-p{p:g}", (pos,), {"exponent": p}) for p in (0.5, -1.0, 1.5)]
        zeros = np.array([0.0, 0.0, 1.0])
        out += [Sample(f"at0-p{p:g}", (zeros,), {"exponent": p}, fd=False) for p in (0.0, 2.0, 3.0, 1.0)]
        out += [
            Sample("empty-0x2", (np.zeros((0, 2)),), {"exponent": 2.0}),
            Sample("0d", (np.array(1.3),), {"exponent": 3.0}),
            Sample("extremes", (EXTREMES.copy(),), {"exponent": 2.0}),
            Sample("nonfinite", (NONFINITE.copy(),), {"exponent": 2.0}, fd=False),
        ]
        return out

    def pow_samples(rng: np.random.Generator) -> list[Sample]:
        out = binary(a_positive=True)(rng)
        out.append(
            Sample(
                "at0",
                (np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 2.0, 1.0, 0.0])),
                fd=False,
            )
        )
        return out

    def clip_samples(rng: np.random.Generator) -> list[Sample]:
        x = _away_from(rng.standard_normal((3, 5)), (-0.5, 0.5))
        return [
            Sample("both", (x, -0.5, 0.5)),
            Sample("low-only", (x, -0.5, None)),
            Sample("high-only", (x, None, 0.5)),
            Sample("at-bounds", (np.array([-0.5, 0.5, 0.0, -1.0, 1.0]), -0.5, 0.5), fd=False),
            Sample("empty-0x3", (np.zeros((0, 3)), -1.0, 1.0)),
            Sample("0d", (np.array(2.0), -1.0, 1.0)),
            Sample("extremes", (EXTREMES.copy(), -60.0, 60.0)),
            Sample("nonfinite", (NONFINITE.copy(), -1.0, 1.0), fd=False),
        ]

    def where_samples(rng: np.random.Generator) -> list[Sample]:
        out = []
        for name, sa, sb in BROADCAST_SHAPES:
            full = np.broadcast_shapes(sa, sb)
            cond = rng.random(full) > 0.5
            if cond.size:
                cond.reshape(-1)[0] = True
            out.append(Sample(name, (cond, rng.standard_normal(sa), rng.standard_normal(sb))))
        out.append(Sample("cond-3x1", (np.array([[True], [False], [True]]), rng.standard_normal((3, 4)), np.zeros(4))))
        out.append(
            Sample(
                "nonfinite", (np.array([True, False, True, False]), NONFINITE.copy(), NONFINITE[::-1].copy()), fd=False
            )
        )
        return out

    def cast_samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((3, 4))
        return [
            Sample("to-float64", (x,), {"dtype": np.float64}),
            Sample("to-float32", (x,), {"dtype": np.float32}, fd=False),
            Sample("empty-0x3", (np.zeros((0, 3)),), {"dtype": np.float64}),
            Sample("nonfinite", (NONFINITE.copy(),), {"dtype": np.float32}, fd=False),
        ]

    def torch_dtype(torch: Any, dtype: Any) -> Any:
        return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]

    def div_grad(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
        return unbroadcast(g / b, a.shape), unbroadcast(-g * a / (b * b), b.shape)

    def pow_grad(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = np.where(b == 0, 0.0, b * np.power(a, b - 1))
            gb = np.power(a, b) * np.where(a > 0, np.log(np.where(a > 0, a, 1.0)), 0.0)
        return unbroadcast(g * ga, a.shape), unbroadcast(g * gb, b.shape)

    def pow_scalar_grad(g: np.ndarray, x: np.ndarray, exponent: float) -> tuple:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * (0.0 if exponent == 0 else exponent * np.power(x, exponent - 1)),)

    add = lambda a, b: a + b  # noqa: E731
    sub = lambda a, b: a - b  # noqa: E731
    mul = lambda a, b: a * b  # noqa: E731
    with_errstate = lambda fn: lambda *a, **k: _quiet(fn, *a, **k)  # noqa: E731
    return [
        OpInfo(elementwise.Add, binary(), torch=lambda torch, a, b: a + b, ref=add, ref_grad=affine_vjp(add)),
        OpInfo(elementwise.Sub, binary(), torch=lambda torch, a, b: a - b, ref=sub, ref_grad=affine_vjp(sub)),
        OpInfo(elementwise.Mul, binary(), torch=lambda torch, a, b: a * b, ref=mul, ref_grad=affine_vjp(mul)),
        OpInfo(
            elementwise.Div,
            binary(b_nonzero=True),
            torch=lambda torch, a, b: a / b,
            ref=with_errstate(np.divide),
            ref_grad=with_errstate(div_grad),
        ),
        OpInfo(
            elementwise.PowScalar,
            pow_scalar_samples,
            torch=lambda torch, x, exponent: x**exponent,
            ref=with_errstate(lambda x, exponent: np.power(x, exponent)),
            ref_grad=pow_scalar_grad,
        ),
        OpInfo(
            elementwise.Pow,
            pow_samples,
            torch=lambda torch, a, b: torch.pow(a, b),
            ref=with_errstate(np.power),
            ref_grad=pow_grad,
        ),
        OpInfo(elementwise.Neg, unary(), torch=lambda torch, x: -x, ref=np.negative, ref_grad=affine_vjp(np.negative)),
        OpInfo(
            elementwise.Exp,
            unary(extremes_fd=False),
            torch=lambda torch, x: torch.exp(x),
            ref=with_errstate(np.exp),
            ref_grad=with_errstate(elementwise_grad(np.exp)),
        ),
        OpInfo(
            elementwise.Log,
            unary(positive=True, kinks=(0.0,), extremes=np.array([1e-4, 50.0, 1e4])),
            torch=lambda torch, x: torch.log(x),
            ref=with_errstate(np.log),
            ref_grad=with_errstate(elementwise_grad(lambda x: 1 / x)),
        ),
        OpInfo(
            elementwise.Sqrt,
            unary(positive=True, kinks=(0.0,), extremes=np.array([1e-4, 50.0, 1e4])),
            torch=lambda torch, x: torch.sqrt(x),
            ref=with_errstate(np.sqrt),
            ref_grad=with_errstate(elementwise_grad(lambda x: 0.5 / np.sqrt(x))),
        ),
        OpInfo(
            elementwise.Abs,
            unary(kinks=(0.0,), grad_at_nan=False),  # sign(NaN) = 0 in bprop and torch, NaN in np.sign
            torch=lambda torch, x: torch.abs(x),
            ref=np.abs,
            ref_grad=elementwise_grad(np.sign),
        ),
        OpInfo(
            elementwise.Clip,
            clip_samples,
            torch=lambda torch, x, low, high: torch.clamp(x, low, high),
            ref=lambda x, low, high: np.clip(x, low, high),
            ref_grad=lambda g, x, low, high: (
                g * ((low is None or x >= low) & (high is None or x <= high)),
                None,
                None,
            ),
        ),
        OpInfo(
            elementwise.Where,
            where_samples,
            torch=lambda torch, cond, a, b: torch.where(cond, a, b),
            ref=np.where,
            ref_grad=affine_vjp(np.where),
        ),
        OpInfo(
            elementwise.Cast,
            cast_samples,
            torch=lambda torch, x, dtype: x.to(torch_dtype(torch, dtype)),
            ref=lambda x, dtype: x.astype(dtype),
            ref_grad=lambda g, x, dtype: (np.asarray(g, dtype=np.float64),),
            keeps_dtype=False,
        ),
    ]


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


def _reductions() -> list[OpInfo]:
    sum_ref = _np_reduce(np.sum)
    mean_ref = _np_reduce(np.mean)
    var_ref = lambda x, dim=None, keepdim=False, correction=1: _np_reduce(np.var)(  # noqa: E731
        x, dim, keepdim, ddof=correction
    )
    std_ref = lambda x, dim=None, keepdim=False, correction=1: _np_reduce(np.std)(  # noqa: E731
        x, dim, keepdim, ddof=correction
    )

    def extreme_samples(rng: np.random.Generator) -> list[Sample]:
        out = [s for s in _reduction_samples()(rng) if not s.name.startswith("empty")]
        out.append(Sample("empty-0x3-dim1", (np.zeros((0, 3)),), {"dim": 1, "keepdim": False}))
        out.append(Sample("empty-reduced", (np.zeros((0, 3)),), {"dim": 0, "keepdim": False}, raises=ValueError))
        return out

    def var_samples(rng: np.random.Generator) -> list[Sample]:
        out = _reduction_samples({"correction": 1}, ties=False)(rng)
        out += [
            Sample("correction0", (rng.standard_normal((3, 4)),), {"dim": 1, "keepdim": False, "correction": 0}),
            Sample("constant", (np.full((2, 3), 2.0),), {"dim": 1, "keepdim": False, "correction": 1}),
            Sample(
                "N-equals-c", (rng.standard_normal((1, 3)),), {"dim": 0, "keepdim": False, "correction": 1}, fd=False
            ),
        ]
        for s in out:
            if s.name == "0d":  # one value, correction 1: N − c = 0, a NaN variance as in torch
                s.fd = False
        return out

    def norm_samples(rng: np.random.Generator) -> list[Sample]:
        out = _reduction_samples({"p": 2.0}, ties=False)(rng)
        x = rng.standard_normal((3, 4))
        for p in (1.0, 3.0, 0.5, np.inf):
            out.append(Sample(f"p{p}-dim1", (x,), {"p": p, "dim": 1, "keepdim": False}))
        zero_row = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
        for p in (2.0, 3.0, np.inf):  # a zero slice: the cone's point, gradient 0 as torch's
            out.append(Sample(f"zero-slice-p{p}", (zero_row,), {"p": p, "dim": 1, "keepdim": False}, fd=False))
        tied = np.array([[1.0, -3.0, 3.0, -2.0], [2.0, 2.0, -2.0, 2.0]])
        out.append(Sample("ties-pinf", (tied,), {"p": np.inf, "dim": 1, "keepdim": False}, fd=False))
        out.append(
            Sample("empty-pinf", (np.zeros((0, 3)),), {"p": np.inf, "dim": 0, "keepdim": False}, raises=ValueError)
        )
        return out

    return [
        OpInfo(
            reduction.Sum,
            _reduction_samples(),
            torch=_torch_reduce("sum"),
            ref=sum_ref,
            ref_grad=affine_vjp(sum_ref),
        ),
        OpInfo(
            reduction.Mean,
            _reduction_samples(),
            torch=_torch_reduce("mean"),
            ref=mean_ref,
            ref_grad=affine_vjp(mean_ref),
        ),
        OpInfo(
            reduction.Max,
            extreme_samples,
            torch=_torch_reduce("amax"),
            ref=_np_reduce(np.max),
            ref_grad=_extreme_grad(np.max),
        ),
        OpInfo(
            reduction.Min,
            extreme_samples,
            torch=_torch_reduce("amin"),
            ref=_np_reduce(np.min),
            ref_grad=_extreme_grad(np.min),
        ),
        OpInfo(reduction.Var, var_samples, torch=_torch_reduce("var"), ref=var_ref, ref_grad=_var_grad),
        OpInfo(reduction.Norm, norm_samples, torch=_torch_norm, ref=_norm_ref, ref_grad=_norm_grad),
        OpInfo(reduction.Std, var_samples, torch=_torch_reduce("std"), ref=std_ref, ref_grad=_std_grad),
    ]


def _shapes() -> list[OpInfo]:
    def reshape_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("2x3x4-to-6x4", (rng.standard_normal((2, 3, 4)),), {"shape": (6, 4)}),
            Sample("infer-1", (rng.standard_normal((3, 5)),), {"shape": (5, -1)}),
            Sample("to-0d", (rng.standard_normal((1, 1)),), {"shape": ()}),
            Sample("empty-0x3-to-3x0", (np.zeros((0, 3)),), {"shape": (3, 0)}),
            Sample("nonfinite", (NONFINITE.copy(),), {"shape": (2, 2)}, fd=False),
        ]

    def permute_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("2x3x4-201", (rng.standard_normal((2, 3, 4)),), {"dims": (2, 0, 1)}),
            Sample("transpose", (rng.standard_normal((3, 5)),), {"dims": (1, 0)}),
            Sample("negative-dims", (rng.standard_normal((2, 1, 3)),), {"dims": (-1, 0, 1)}),
            Sample("empty-0x3", (np.zeros((0, 3)),), {"dims": (1, 0)}),
        ]

    def getitem_samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((4, 5))
        return [
            Sample("slice", (x, (slice(1, 3), slice(None, None, 2)))),
            Sample("int", (x, 2)),
            Sample("negative-int", (x, (-1, slice(None)))),
            Sample("repeated-ints", (x, np.array([0, 2, 0, 0]))),
            Sample("int-arrays", (x, (np.array([0, 3, 0]), np.array([1, 1, 4])))),
            Sample("bool-mask", (x, x > 0.2)),
            Sample("ellipsis-newaxis", (rng.standard_normal((2, 3, 4)), (Ellipsis, None, 1))),
            Sample("empty-slice", (x, slice(2, 2))),
            Sample("empty-input", (np.zeros((0, 3)), (slice(None), 1))),
            Sample("nonfinite", (NONFINITE.copy(), slice(0, 3)), fd=False),
        ]

    def gather_samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((3, 4))
        return [
            Sample("dim1", (x,), {"dim": 1, "index": np.array([[0, 3], [1, 1], [2, 0]])}),
            Sample("dim0-repeats", (x,), {"dim": 0, "index": np.array([[0, 0, 0, 2], [0, 1, 2, 2]])}),
            Sample("smaller-index", (rng.standard_normal((3, 4, 2)),), {"dim": 2, "index": np.zeros((2, 3, 1), int)}),
            Sample("empty-index", (x,), {"dim": 1, "index": np.zeros((3, 0), int)}),
            Sample("empty-input", (np.zeros((0, 3)),), {"dim": 1, "index": np.zeros((0, 2), int)}),
        ]

    def concat_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("dim0", (rng.standard_normal((2, 3)), rng.standard_normal((1, 3)), rng.standard_normal((3, 3)))),
            Sample("dim1", (rng.standard_normal((2, 1)), rng.standard_normal((2, 4))), {"dim": 1}),
            Sample("dim-1-3d", (rng.standard_normal((2, 1, 2)), rng.standard_normal((2, 1, 3))), {"dim": -1}),
            Sample("empty-piece", (rng.standard_normal((2, 3)), np.zeros((0, 3)))),
            Sample("one", (rng.standard_normal((3,)),)),
        ]

    def stack_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("dim0", (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))),
            Sample(
                "dim-1", (rng.standard_normal((3,)), rng.standard_normal((3,)), rng.standard_normal((3,))), {"dim": -1}
            ),
            Sample("0d", (np.array(1.0), np.array(-2.0))),
            Sample("empty", (np.zeros((0, 2)), np.zeros((0, 2))), {"dim": 1}),
        ]

    def pad_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("last-dim", (rng.standard_normal((2, 3)),), {"pad": (1, 2)}),
            Sample("two-dims-value", (rng.standard_normal((2, 2, 3)),), {"pad": (0, 1, 2, 0), "value": -1.5}),
            Sample("zero", (rng.standard_normal((3,)),), {"pad": (0, 0)}),
            Sample("empty-0x3", (np.zeros((0, 3)),), {"pad": (1, 1)}),
        ]

    def border_pad_samples(rng: np.random.Generator) -> list[Sample]:
        image = rng.standard_normal((2, 2, 3, 4))
        out = []
        for mode in ("reflect", "replicate", "circular"):
            out += [
                Sample(f"{mode}-2d", (image,), {"pad": (1, 2, 2, 1), "mode": mode}),
                Sample(f"{mode}-1d-NCW", (rng.standard_normal((2, 3, 5)),), {"pad": (2, 1), "mode": mode}),
                Sample(f"{mode}-unbatched-CHW", (rng.standard_normal((1, 3, 3)),), {"pad": (0, 2, 1, 0), "mode": mode}),
            ]
        out += [
            Sample("replicate-wide", (rng.standard_normal((1, 1, 2, 2)),), {"pad": (3, 3, 3, 3), "mode": "replicate"}),
            Sample("circular-full", (rng.standard_normal((1, 1, 2, 3)),), {"pad": (3, 3, 2, 2), "mode": "circular"}),
            Sample("empty-batch", (np.zeros((0, 2, 3, 3)),), {"pad": (1, 1, 1, 1), "mode": "reflect"}),
            Sample("extremes", (np.tile(EXTREMES, (1, 1, 2, 1)),), {"pad": (1, 1, 1, 1), "mode": "reflect"}),
            Sample(
                "nonfinite", (np.tile(NONFINITE, (1, 1, 2, 1)),), {"pad": (1, 2, 1, 0), "mode": "circular"}, fd=False
            ),
            Sample("reflect-too-wide", (image,), {"pad": (4, 0), "mode": "reflect"}, raises=ValueError),
            Sample("unknown-mode", (image,), {"pad": (1, 1), "mode": "mirror"}, raises=ValueError),
        ]
        return out

    def torch_index(torch: Any, index: Any) -> Any:
        if isinstance(index, tuple):
            return tuple(torch_index(torch, i) for i in index)
        return torch.from_numpy(index) if isinstance(index, np.ndarray) else index

    def gather_ref(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        block = x[tuple(slice(None) if d == dim % x.ndim else slice(n) for d, n in enumerate(index.shape))]
        return np.take_along_axis(block, index, axis=dim)

    def pad_ref(x: np.ndarray, pad: tuple, value: float = 0.0) -> np.ndarray:
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        return np.pad(x, widths, constant_values=value)

    reshape_ref = lambda x, shape: np.reshape(x, shape)  # noqa: E731
    permute_ref = lambda x, dims: np.transpose(x, dims)  # noqa: E731
    getitem_ref = lambda x, index: np.asarray(x[index])  # noqa: E731
    concat_ref = lambda *xs, dim=0: np.concatenate(xs, axis=dim)  # noqa: E731
    stack_ref = lambda *xs, dim=0: np.stack(xs, axis=dim)  # noqa: E731
    return [
        OpInfo(
            shape.Reshape,
            reshape_samples,
            torch=lambda torch, x, shape: x.reshape(shape),
            ref=reshape_ref,
            ref_grad=affine_vjp(reshape_ref),
        ),
        OpInfo(
            shape.Permute,
            permute_samples,
            torch=lambda torch, x, dims: x.permute(dims),
            ref=permute_ref,
            ref_grad=affine_vjp(permute_ref),
        ),
        OpInfo(
            shape.GetItem,
            getitem_samples,
            torch=lambda torch, x, index: x[torch_index(torch, index)],
            ref=getitem_ref,
            ref_grad=affine_vjp(getitem_ref),
        ),
        OpInfo(
            shape.Gather,
            gather_samples,
            torch=lambda torch, x, dim, index: torch.gather(x, dim, index),
            ref=gather_ref,
            ref_grad=affine_vjp(gather_ref),
        ),
        OpInfo(
            shape.Concatenate,
            concat_samples,
            torch=lambda torch, *xs, dim=0: torch.cat(xs, dim),
            ref=concat_ref,
            ref_grad=affine_vjp(concat_ref),
        ),
        OpInfo(
            shape.Stack,
            stack_samples,
            torch=lambda torch, *xs, dim=0: torch.stack(xs, dim),
            ref=stack_ref,
            ref_grad=affine_vjp(stack_ref),
        ),
        OpInfo(
            shape.Pad,
            pad_samples,
            torch=lambda torch, x, pad, value=0.0: torch.nn.functional.pad(x, pad, value=value),
            ref=pad_ref,
            ref_grad=affine_vjp(pad_ref),
        ),
        OpInfo(
            shape.PadFromInput,
            border_pad_samples,
            torch=lambda torch, x, pad, mode="reflect": torch.nn.functional.pad(x, pad, mode=mode),
            ref=ref.pad_border,
            ref_grad=lambda g, x, pad, mode="reflect": (ref.pad_border_backward(g, x, pad, mode),),
        ),
    ]


def _linalg() -> list[OpInfo]:
    def matmul_samples(rng: np.random.Generator) -> list[Sample]:
        pairs = [
            ("3x4@4x2", (3, 4), (4, 2)),
            ("vec@4x2", (4,), (4, 2)),
            ("3x4@vec", (3, 4), (4,)),
            ("vec@vec", (4,), (4,)),
            ("batch-2x3x4@4x5", (2, 3, 4), (4, 5)),
            ("broadcast-2x1x3x4@3x4x2", (2, 1, 3, 4), (3, 4, 2)),
            ("left-broadcast-3x4@2x4x5", (3, 4), (2, 4, 5)),
            ("vec@batch-4@2x4x3", (4,), (2, 4, 3)),
            ("batch@vec-2x3x4@4", (2, 3, 4), (4,)),
            ("empty-0x4@4x2", (0, 4), (4, 2)),
            ("inner0-3x0@0x2", (3, 0), (0, 2)),
        ]
        out = [Sample(name, (rng.standard_normal(sa), rng.standard_normal(sb))) for name, sa, sb in pairs]
        out.append(Sample("extremes", (np.array([EXTREMES]), np.array([[1.0], [2.0], [-1.0], [0.5]]))))
        out.append(Sample("nonfinite", (np.array([NONFINITE]), np.ones((4, 2))), fd=False))
        return out

    def linear_samples(rng: np.random.Generator) -> list[Sample]:
        w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
        return [
            Sample("4x3", (rng.standard_normal((4, 3)), w, b)),
            Sample("vector", (rng.standard_normal(3), w, b)),
            Sample("batch-2x3x3", (rng.standard_normal((2, 3, 3)), w, b)),
            Sample("no-bias", (rng.standard_normal((5, 3)), w, None)),
            Sample("empty-0x3", (np.zeros((0, 3)), w, b)),
            Sample("extremes", (np.array([[1e4, -50.0, 50.0]]), w, b)),
            Sample("nonfinite", (np.array([[np.nan, 1.0, 2.0], [np.inf, 0.0, 1.0]]), w, b), fd=False),
        ]

    def linear_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        rows = x.reshape(-1, x.shape[-1])
        out = np.array([ref.affine(w, a, b) for a in rows]).reshape((*x.shape[:-1], w.shape[0]))
        return out

    def linear_grad(g: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> tuple:
        rows, deltas = x.reshape(-1, x.shape[-1]), np.reshape(g, (-1, w.shape[0]))
        dx, dw, db = np.zeros(rows.shape), np.zeros(w.shape), np.zeros(w.shape[0])
        for i, (a, delta) in enumerate(zip(rows, deltas)):  # ∂C/∂W and ∂C/∂b sum over the samples
            d_w, dx[i], d_b = ref.affine_backward(w, a, delta)
            dw += d_w
            db += d_b
        return dx.reshape(x.shape), dw, (None if b is None else db)

    return [
        OpInfo(
            linalg.MatMul,
            matmul_samples,
            torch=lambda torch, a, b: torch.matmul(a, b),
            ref=np.matmul,
            ref_grad=affine_vjp(np.matmul),
        ),
        OpInfo(
            linalg.Linear,
            linear_samples,
            torch=lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
            ref=linear_ref,
            ref_grad=linear_grad,
        ),
    ]


def _dropout() -> list[OpInfo]:
    def samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((4, 5))
        return [
            Sample("p0.5", (x,), {"p": 0.5}),
            Sample("p0.2-3d", (rng.standard_normal((2, 3, 3)),), {"p": 0.2}),
            Sample("p0", (x,), {"p": 0.0}),
            Sample("p1", (x,), {"p": 1.0}),
            Sample("empty-0x3", (np.zeros((0, 3)),), {"p": 0.5}),
            Sample("extremes", (np.tile(EXTREMES, 3),), {"p": 0.5}),
            Sample("nonfinite", (np.tile(NONFINITE, 3),), {"p": 0.5}, fd=False),
        ]

    def samples2d(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((4, 6, 2, 3))
        return [
            Sample("p0.5", (x,), {"p": 0.5}),
            Sample("p0.3-3d-NCL", (rng.standard_normal((2, 5, 3)),), {"p": 0.3}),
            Sample("p0", (x,), {"p": 0.0}),
            Sample("p1", (x,), {"p": 1.0}),
            Sample("empty-0x3x2x2", (np.zeros((0, 3, 2, 2)),), {"p": 0.5}),
            Sample("extremes", (np.tile(EXTREMES, (2, 3, 1, 1)),), {"p": 0.5}),
            Sample("nonfinite", (np.tile(NONFINITE, (2, 3, 1, 1)),), {"p": 0.5}, fd=False),
            Sample("1d-refused", (np.zeros(3),), {"p": 0.5}, raises=ValueError),
        ]

    def channel_mask(x: np.ndarray, p: float) -> np.ndarray:
        return dropout_mask(x.shape[:2] + (1,) * (x.ndim - 2), p)

    def torch_dropout2d(torch: Any, x: Any, p: float) -> Any:
        mask = torch.from_numpy(channel_mask(np.zeros(tuple(x.shape)), p))
        return x * mask * (0.0 if p == 1 else 1 / (1 - p))

    def torch_dropout(torch: Any, x: Any, p: float) -> Any:
        mask = torch.from_numpy(dropout_mask(tuple(x.shape), p))
        return x * mask * (0.0 if p == 1 else 1 / (1 - p))

    return [
        OpInfo(
            dropout.Dropout,
            samples,
            torch=torch_dropout,
            ref=lambda x, p: ref.dropout(x, dropout_mask(x.shape, p), p),
            ref_grad=lambda g, x, p: (ref.dropout_backward(g, dropout_mask(x.shape, p), p),),
            random=True,
        ),
        OpInfo(
            dropout.Dropout2d,
            samples2d,
            torch=torch_dropout2d,
            ref=lambda x, p: ref.dropout2d(x, channel_mask(x, p), p),
            ref_grad=lambda g, x, p: (ref.dropout2d_backward(g, channel_mask(x, p), p),),
            random=True,
        ),
    ]


def _normalization() -> list[OpInfo]:
    def train_samples(rng: np.random.Generator) -> list[Sample]:
        def case(
            name: str, x: np.ndarray, affine: bool = True, stats: bool = False, fd: bool = True, **kw: Any
        ) -> Sample:
            c = x.shape[1]
            w = rng.standard_normal(c) if affine else None
            b = rng.standard_normal(c) if affine else None
            rm, rv = (np.zeros(c), np.ones(c)) if stats else (None, None)
            return Sample(name, (x, w, b, rm, rv), kw, fd=fd, grad=(0, 1, 2) if affine else (0,))

        constant = rng.standard_normal((4, 3))
        constant[:, 1] = 2.5  # zero variance: x̂ = 0, the gradient goes through ε alone
        return [
            case("4x3", rng.standard_normal((4, 3))),
            case("2x3x5", rng.standard_normal((2, 3, 5))),
            case("2x2x2x3", rng.standard_normal((2, 2, 2, 3))),
            case("batch1-1x3x5", rng.standard_normal((1, 3, 5))),
            case("size1-3x5x1x7", rng.standard_normal((3, 5, 1, 7)) * 0.5 + 2.0, eps=1e-3),
            case("no-affine", rng.standard_normal((3, 2)), affine=False),
            case("running-stats", rng.standard_normal((5, 2)), stats=True, momentum=0.3, eps=1e-3),
            case("constant-channel", constant),
            case("extremes", np.array([[1e4, -50.0], [-1e4, 50.0], [0.0, 1.0]])),
            case("nonfinite", np.array([[np.nan, 1.0], [np.inf, 0.0], [2.0, 3.0]]), fd=False),
            Sample("empty-0x3", (np.zeros((0, 3)), None, None, None, None), raises=ValueError),
            Sample("one-value-per-channel", (np.ones((1, 3)), None, None, None, None), raises=ValueError),
        ]

    def eval_samples(rng: np.random.Generator) -> list[Sample]:
        def case(name: str, x: np.ndarray, affine: bool = True, fd: bool = True) -> Sample:
            c = x.shape[1]
            w = rng.standard_normal(c) if affine else None
            b = rng.standard_normal(c) if affine else None
            rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
            return Sample(name, (x, w, b, rm, rv), {"eps": 1e-4}, fd=fd, grad=(0, 1, 2) if affine else (0,))

        return [
            case("4x3", rng.standard_normal((4, 3))),
            case("2x3x2x2", rng.standard_normal((2, 3, 2, 2))),
            case("no-affine", rng.standard_normal((3, 2)), affine=False),
            case("one-sample", rng.standard_normal((1, 3))),
            case("size1-3x3x1", rng.standard_normal((3, 3, 1))),
            case("empty-0x3", np.zeros((0, 3))),
            case("extremes", np.array([[1e4, -50.0], [-1e4, 50.0]])),
            case("nonfinite", np.array([[np.nan, 1.0], [np.inf, -np.inf]]), fd=False),
        ]

    def torch_train(torch: Any, x: Any, w: Any, b: Any, rm: Any, rv: Any, momentum: float = 0.1, eps: float = 1e-5):
        return torch.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum, eps=eps)

    def torch_eval(torch: Any, x: Any, w: Any, b: Any, rm: Any, rv: Any, eps: float = 1e-5) -> Any:
        return torch.nn.functional.batch_norm(x, rm, rv, w, b, training=False, eps=eps)

    def train_grad(g: np.ndarray, x: np.ndarray, w: Any, b: Any, rm: Any, rv: Any, momentum=0.1, eps=1e-5) -> tuple:
        dx, dw, db = ref.batch_norm_backward(g, x, w, eps)
        return dx, (None if w is None else dw), (None if b is None else db), None, None

    def eval_grad(g: np.ndarray, x: np.ndarray, w: Any, b: Any, rm: Any, rv: Any, eps: float = 1e-5) -> tuple:
        dx, dw, db = ref.batch_norm_eval_backward(g, x, w, rm, rv, eps)
        return dx, (None if w is None else dw), (None if b is None else db), None, None

    def layer_norm_samples(rng: np.random.Generator) -> list[Sample]:
        def case(
            name: str, x: np.ndarray, normalized: tuple, affine: bool = True, fd: bool = True, **kw: Any
        ) -> Sample:
            w = rng.standard_normal(normalized) if affine else None
            b = rng.standard_normal(normalized) if affine else None
            kwargs = {"normalized_shape": normalized, **kw}
            return Sample(name, (x, w, b), kwargs, fd=fd, grad=(0, 1, 2) if affine else (0,))

        constant = rng.standard_normal((3, 4))
        constant[1] = 0.7
        return [
            case("4x5-last", rng.standard_normal((4, 5)), (5,)),
            case("2x3x4-last2", rng.standard_normal((2, 3, 4)), (3, 4), eps=1e-3),
            case("no-affine", rng.standard_normal((3, 4)), (4,), affine=False),
            case("D1-4x1", rng.standard_normal((4, 1)), (1,)),
            case("2x2x1x3-last2", rng.standard_normal((2, 2, 1, 3)), (1, 3)),
            case("constant-row", constant, (4,)),
            case("empty-0x4", np.zeros((0, 4)), (4,)),
            case("extremes", np.array([[1e4, -50.0, 50.0, -1e4]]), (4,)),
            case("nonfinite", np.array([[np.nan, 1.0, 2.0], [np.inf, 0.0, 1.0]]), (3,), fd=False),
        ]

    def group_norm_samples(rng: np.random.Generator) -> list[Sample]:
        def case(name: str, x: np.ndarray, groups: int, affine: bool = True, fd: bool = True, **kw: Any) -> Sample:
            c = x.shape[1]
            w = rng.standard_normal(c) if affine else None
            b = rng.standard_normal(c) if affine else None
            return Sample(name, (x, w, b), {"num_groups": groups, **kw}, fd=fd, grad=(0, 1, 2) if affine else (0,))

        return [
            case("2x4x3-g2", rng.standard_normal((2, 4, 3)), 2),
            case("2x6x2x2-g3", rng.standard_normal((2, 6, 2, 2)), 3, eps=1e-3),
            case("instance-g=C", rng.standard_normal((2, 3, 4)), 3),
            case("2d-4x8-g2", rng.standard_normal((4, 8)), 2),
            case("size1-3x2x1x1-g1", rng.standard_normal((3, 2, 1, 1)), 1),
            case("layer-g1-no-affine", rng.standard_normal((3, 2, 3)), 1, affine=False),
            case("empty-0x4x3", np.zeros((0, 4, 3)), 2),
            case("extremes", np.array([[[1e4, -50.0], [50.0, -1e4]]]), 1),
            case("nonfinite", np.array([[[np.nan, 1.0], [np.inf, 0.0]], [[1.0, 2.0], [3.0, 5.0]]]), 2, fd=False),
        ]

    def rows_forward(rows: np.ndarray, eps: float) -> np.ndarray:
        """Each row normalised over its values: batch norm of the transposed rows."""
        return ref.batch_norm(rows.T, eps=eps).T

    def layer_norm_ref(x: np.ndarray, w: Any, b: Any, normalized_shape: tuple, eps: float = 1e-5) -> np.ndarray:
        d = math.prod(normalized_shape)
        y = rows_forward(x.reshape(-1, d), eps).reshape(x.shape)
        return y * (1.0 if w is None else w) + (0.0 if b is None else b)

    def layer_norm_grad(g: np.ndarray, x: np.ndarray, w: Any, b: Any, normalized_shape: tuple, eps=1e-5) -> tuple:
        d = math.prod(normalized_shape)
        rows = x.reshape(-1, d)
        x_hat = rows_forward(rows, eps).reshape(x.shape)
        lead = tuple(range(x.ndim - len(normalized_shape)))
        d_x_hat = g * (1.0 if w is None else w)
        dx = ref.batch_norm_backward(d_x_hat.reshape(-1, d).T, rows.T, eps=eps)[0].T.reshape(x.shape)
        dw = None if w is None else np.sum(g * x_hat, axis=lead)
        db = None if b is None else np.sum(g, axis=lead)
        return dx, dw, db

    def channel(v: Any, x: np.ndarray) -> Any:
        return v if v is None else np.reshape(v, (1, -1) + (1,) * (x.ndim - 2))

    def group_norm_ref(x: np.ndarray, w: Any, b: Any, num_groups: int, eps: float = 1e-5) -> np.ndarray:
        y = rows_forward(x.reshape(x.shape[0] * num_groups, x[0].size // num_groups if len(x) else 0), eps).reshape(
            x.shape
        )
        return y * (1.0 if w is None else channel(w, x)) + (0.0 if b is None else channel(b, x))

    def group_norm_grad(g: np.ndarray, x: np.ndarray, w: Any, b: Any, num_groups: int, eps=1e-5) -> tuple:
        rows = x.reshape(x.shape[0] * num_groups, x[0].size // num_groups if len(x) else 0)
        x_hat = rows_forward(rows, eps).reshape(x.shape)
        d_x_hat = g * (1.0 if w is None else channel(w, x))
        dx = ref.batch_norm_backward(d_x_hat.reshape(rows.shape).T, rows.T, eps=eps)[0].T.reshape(x.shape)
        others = (0, *range(2, x.ndim))
        dw = None if w is None else np.sum(g * x_hat, axis=others)
        db = None if b is None else np.sum(g, axis=others)
        return dx, dw, db

    return [
        OpInfo(
            normalization.BatchNormTrain,
            train_samples,
            torch=torch_train,
            ref=lambda x, w, b, rm, rv, momentum=0.1, eps=1e-5: ref.batch_norm(x, w, b, eps),
            ref_grad=train_grad,
            mutates=(3, 4),
        ),
        OpInfo(
            normalization.BatchNormEval,
            eval_samples,
            torch=torch_eval,
            ref=lambda x, w, b, rm, rv, eps=1e-5: ref.batch_norm_eval(x, w, b, rm, rv, eps),
            ref_grad=eval_grad,
        ),
        OpInfo(
            normalization.LayerNorm,
            layer_norm_samples,
            torch=lambda torch, x, w, b, normalized_shape, eps=1e-5: torch.nn.functional.layer_norm(
                x, normalized_shape, w, b, eps
            ),
            ref=layer_norm_ref,
            ref_grad=layer_norm_grad,
        ),
        OpInfo(
            normalization.GroupNorm,
            group_norm_samples,
            torch=lambda torch, x, w, b, num_groups, eps=1e-5: torch.nn.functional.group_norm(x, num_groups, w, b, eps),
            ref=group_norm_ref,
            ref_grad=group_norm_grad,
        ),
    ]


def _losses() -> list[OpInfo]:
    def ce_samples(rng: np.random.Generator) -> list[Sample]:
        x, labels, w = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2]), rng.random(3) + 0.5
        probs = rng.random((4, 3))
        probs /= probs.sum(axis=1, keepdims=True)
        ignored = np.array([0, -100, 1, 2])
        spatial = np.array([[[0, 1], [2, 2]], [[1, 0], [2, 1]]])  # (N=2, 2, 2) labels
        line = np.array([[0, 3, 1, 1, 2], [3, 3, 0, 2, 1]])  # (N=2, d1=5) labels for 4 classes
        out = [Sample(f"labels-{r}", (x, labels), {"reduction": r}) for r in ("mean", "sum", "none")]
        out += [
            Sample("weight", (x, labels), {"weight": w}),
            Sample("ignore-index", (x, ignored), {"weight": w}),
            Sample("ignore-index-3", (x, np.array([3, 0, 3, 1])), {"ignore_index": 3, "reduction": "sum"}),
            Sample("all-ignored", (x, np.full(4, -100))),
            Sample("smoothing-weight", (x, ignored), {"label_smoothing": 0.2, "weight": w}),
            Sample("spatial-2x3x2x2", (rng.standard_normal((2, 3, 2, 2)), rng.integers(0, 3, (2, 2, 2)))),
            Sample("spatial-none", (rng.standard_normal((2, 3, 2, 2)), spatial), {"reduction": "none"}),
            Sample(
                "spatial-weight-smoothing-ignore",
                (rng.standard_normal((2, 3, 2, 2)), spatial),
                {"weight": w, "label_smoothing": 0.1, "ignore_index": 0},
            ),
            Sample(
                "sequence-2x4x5-smoothing-weight",
                (rng.standard_normal((2, 4, 5)), line),
                {"label_smoothing": 0.25, "weight": rng.random(4) + 0.5},
            ),
            Sample(
                "sequence-ignore-3-sum", (rng.standard_normal((2, 4, 5)), line), {"ignore_index": 3, "reduction": "sum"}
            ),
            Sample("3d-spatial-1x3x2x2x2", (rng.standard_normal((1, 3, 2, 2, 2)), rng.integers(0, 3, (1, 2, 2, 2)))),
            Sample("probabilities", (x, probs), {"label_smoothing": 0.1, "weight": w}),
            Sample("probabilities-const", (x, probs), {"reduction": "sum"}, grad=(0,)),
            Sample("empty-0x3", (np.zeros((0, 3)), np.zeros(0, int))),
            Sample("extremes", (np.array([[1e4, -1e4, 0.0], [50.0, -50.0, 50.0]]), np.array([1, 0]))),
            Sample("nonfinite", (np.array([[np.nan, 0.0, 1.0], [np.inf, 0.0, 1.0]]), np.array([1, 0])), fd=False),
        ]
        return out

    def nll_samples(rng: np.random.Generator) -> list[Sample]:
        lp, labels, w = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2]), rng.random(3) + 0.5
        out = [Sample(f"{r}", (lp, labels), {"reduction": r}) for r in ("mean", "sum", "none")]
        out += [
            Sample("weight-ignore", (lp, np.array([0, -100, 1, 1])), {"weight": w}),
            Sample("spatial-2x3x2", (rng.standard_normal((2, 3, 2)), np.array([[0, 2], [1, 1]]))),
            Sample("ignore-1-none", (lp, np.array([1, 0, 1, 2])), {"ignore_index": 1, "reduction": "none"}),
            Sample(
                "spatial-weight-ignore",
                (rng.standard_normal((2, 3, 2, 3)), np.array([[[0, 1, 2], [2, 2, 0]], [[1, 0, 0], [2, 1, 1]]])),
                {"weight": w, "ignore_index": 0},
            ),
            Sample("spatial-none", (rng.standard_normal((2, 3, 2)), np.array([[0, 2], [1, 1]])), {"reduction": "none"}),
            Sample("empty-0x3", (np.zeros((0, 3)), np.zeros(0, int)), {"reduction": "sum"}),
            Sample("nonfinite", (np.array([[np.nan, 0.0, 1.0], [-np.inf, 0.0, 1.0]]), np.array([0, 0])), fd=False),
        ]
        return out

    def mse_samples(rng: np.random.Generator) -> list[Sample]:
        out = [
            Sample(r, (rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {"reduction": r})
            for r in ("mean", "sum", "none")
        ]
        out += [
            Sample("0d", (np.array(1.5), np.array(-0.5))),
            Sample(
                "odd-2x3x5-sum", (rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))), {"reduction": "sum"}
            ),
            Sample("size1-1x1", (rng.standard_normal((1, 1)), rng.standard_normal((1, 1)))),
            Sample("empty-0x3-sum", (np.zeros((0, 3)), np.zeros((0, 3))), {"reduction": "sum"}),
            Sample("extremes", (EXTREMES.copy(), EXTREMES[::-1].copy())),
            Sample("nonfinite", (NONFINITE.copy(), np.ones(4)), fd=False),
        ]
        return out

    def bce_samples(rng: np.random.Generator) -> list[Sample]:
        x, t = rng.standard_normal((3, 4)) * 2, rng.random((3, 4))
        out = [Sample(r, (x, t), {"reduction": r}) for r in ("mean", "sum", "none")]
        out += [
            Sample(
                "weight-pos-weight", (x, t), {"weight": rng.random((1, 4)) + 0.5, "pos_weight": rng.random(4) + 0.5}
            ),
            Sample("hard-labels", (x, np.array(rng.random((3, 4)) > 0.5, dtype=np.float64))),
            Sample("pos-weight-none", (x, t), {"pos_weight": rng.random(4) + 0.2, "reduction": "none"}),
            Sample(
                "row-weight-sum",
                (x, t),
                {"weight": rng.random((3, 1)) + 0.5, "pos_weight": rng.random(4) + 0.5, "reduction": "sum"},
            ),
            Sample("empty-0x3-sum", (np.zeros((0, 3)), np.zeros((0, 3))), {"reduction": "sum"}),
            Sample("extremes", (EXTREMES.copy(), np.array([1.0, 0.0, 1.0, 0.0]))),
            Sample("nonfinite", (NONFINITE.copy(), np.array([1.0, 0.0, 1.0, 0.5])), fd=False),
        ]
        return out

    def regression_samples(kinks: tuple[float, ...], **options: Any) -> Callable[[np.random.Generator], list]:
        """mse_samples plus ties at each kink |y − t| = k (fd=False) and, per option value, one case."""

        def samples(rng: np.random.Generator) -> list[Sample]:
            # torch's sign(NaN) is 0 where NumPy's is NaN: the slope at a NaN error is undefined
            out = [replace(s, grad_at_nan=False, grad=(0,)) if s.name == "nonfinite" else s for s in mse_samples(rng)]
            t = rng.standard_normal(6)
            for k in kinks:
                out.append(Sample(f"kink-{k}", (t + np.array([k, -k, k, -k, 0.0, 0.0]), t), fd=False))
            for name, values in options.items():
                for value in values:
                    y, t = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
                    out.append(Sample(f"{name}-{value}", (y, t), {name: value, "reduction": "sum"}))
            return out

        return samples

    def kl_samples(rng: np.random.Generator) -> list[Sample]:
        x = np.log(rng.dirichlet(np.ones(4), size=3))
        t = rng.dirichlet(np.ones(4), size=3)
        zero_t = t.copy()
        zero_t[0, 1] = 0.0
        out = [Sample(r, (x, t), {"reduction": r}) for r in ("mean", "sum", "none", "batchmean")]
        out += [
            Sample("log-target", (x, np.log(t)), {"log_target": True, "reduction": "batchmean"}),
            Sample("zero-target", (x, zero_t), grad=(0,)),
            Sample("odd-2x3x5", (rng.standard_normal((2, 3, 5)), rng.random((2, 3, 5))), {"reduction": "batchmean"}),
            Sample("empty-0x3-sum", (np.zeros((0, 3)), np.zeros((0, 3))), {"reduction": "sum"}),
            Sample("extremes", (EXTREMES.copy(), np.array([0.1, 0.2, 0.3, 0.4]))),
            Sample("nonfinite", (NONFINITE.copy(), np.array([0.1, 0.2, 0.3, 0.4])), fd=False),
            Sample("bad-reduction", (x, t), {"reduction": "avg"}, raises=ValueError),
        ]
        return out

    def torch_call(name: str) -> Callable[..., Any]:
        return lambda torch, *args, **kwargs: getattr(torch.nn.functional, name)(*args, **kwargs)

    def ce_grad(g: np.ndarray, x: np.ndarray, t: np.ndarray, **kw: Any) -> tuple:
        dx, d_target = ref.cross_entropy_backward(g, x, t, **kw)
        return dx, d_target

    return [
        OpInfo(
            cross_entropy.CrossEntropy,
            ce_samples,
            torch=torch_call("cross_entropy"),
            ref=ref.cross_entropy,
            ref_grad=ce_grad,
        ),
        OpInfo(
            cross_entropy.NLLLoss,
            nll_samples,
            torch=torch_call("nll_loss"),
            ref=ref.nll_loss,
            ref_grad=lambda g, lp, t, **kw: (ref.nll_loss_backward(g, lp, t, **kw), None),
        ),
        OpInfo(loss.MSE, mse_samples, torch=torch_call("mse_loss"), ref=ref.mse, ref_grad=ref.mse_backward),
        OpInfo(loss.L1, regression_samples((0.0,)), torch=torch_call("l1_loss"), ref=ref.l1, ref_grad=ref.l1_backward),
        OpInfo(
            loss.SmoothL1,
            regression_samples((0.0, 1.0), beta=(0.0, 0.5, 2.0)),
            torch=torch_call("smooth_l1_loss"),
            ref=ref.smooth_l1,
            ref_grad=ref.smooth_l1_backward,
        ),
        OpInfo(
            loss.Huber,
            regression_samples((0.0, 1.0), delta=(0.5, 2.0)),
            torch=torch_call("huber_loss"),
            ref=ref.huber,
            ref_grad=ref.huber_backward,
        ),
        OpInfo(loss.KLDiv, kl_samples, torch=torch_call("kl_div"), ref=ref.kl_div, ref_grad=ref.kl_div_backward),
        OpInfo(
            loss.BCEWithLogits,
            bce_samples,
            torch=torch_call("binary_cross_entropy_with_logits"),
            ref=ref.bce_with_logits,
            ref_grad=ref.bce_with_logits_backward,
        ),
    ]


def _convolutions() -> list[OpInfo]:

    def conv_samples(rng: np.random.Generator) -> list[Sample]:
        def case(name: str, x_shape: tuple, w_shape: tuple, bias: bool = True, **kw: Any) -> Sample:
            b = rng.standard_normal(w_shape[0]) if bias else None
            return Sample(name, (rng.standard_normal(x_shape), rng.standard_normal(w_shape), b), kw)

        return [
            case("basic", (2, 2, 4, 4), (3, 2, 3, 3)),
            case("stride2-pad1-odd", (1, 2, 5, 4), (2, 2, 3, 2), stride=2, padding=1),
            case("stride-pad-pairs", (1, 1, 5, 6), (2, 1, 2, 3), stride=(2, 1), padding=(1, 0)),
            case("dilation2", (1, 1, 5, 5), (2, 1, 2, 2), dilation=2),
            case("groups2-no-bias", (1, 4, 3, 3), (4, 2, 2, 2), bias=False, groups=2),
            case("1x1-kernel", (2, 3, 2, 2), (2, 3, 1, 1)),
            case("dilation2-groups2", (1, 2, 6, 6), (4, 1, 3, 3), dilation=2, groups=2, padding=1),
            case("all-pairs", (1, 3, 5, 6), (2, 3, 3, 1), stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
            case("empty-batch", (0, 2, 4, 4), (3, 2, 3, 3)),
            Sample(
                "nonfinite",
                (np.pad(NONFINITE.reshape(1, 1, 2, 2), ((0, 0), (0, 0), (0, 1), (0, 1))), np.ones((1, 1, 2, 2)), None),
                fd=False,
            ),
        ]

    def conv_ref(
        x: np.ndarray, w: np.ndarray, b: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
    ):
        (u, v), (a, c), (d1, d2) = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
        # a dilated kernel is the kernel with d − 1 zeros between its taps (reference.dilate)
        kernel = np.array([[ref.dilate(w[o, ch], d1, d2) for ch in range(w.shape[1])] for o in range(w.shape[0])])
        o_per_group, c_per_group = w.shape[0] // groups, w.shape[1]
        outs = []
        for image in x:
            parts = [
                ref.cross_correlate(
                    image[g * c_per_group : (g + 1) * c_per_group],
                    kernel[g * o_per_group : (g + 1) * o_per_group],
                    None if b is None else b[g * o_per_group : (g + 1) * o_per_group],
                    u,
                    v,
                    a,
                    c,
                )
                for g in range(groups)
            ]
            outs.append(np.concatenate(parts))
        if not outs:
            h, wd = ref.output_size(*x.shape[2:], *kernel.shape[2:], u, v, a, c)
            return np.zeros((0, w.shape[0], h, wd))
        return np.array(outs)

    conv_vjp = affine_vjp(conv_ref)

    def conv_grad(
        g: np.ndarray,
        x: np.ndarray,
        w: np.ndarray,
        b: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ):
        """The textbook backward (a convolution with the rotated kernel) for plain convolutions;
        the Jacobian of the reference forward for dilation and groups, which it does not cover."""
        if dilation != 1 or groups != 1 or not len(x):
            return conv_vjp(g, x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        (u, v), (a, c) = _pair(stride, "stride"), _pair(padding, "padding")
        dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[0])
        for n in range(len(x)):
            dx[n], dw_n, db_n = ref.conv_backward(x[n], w, g[n], u, v, a, c)
            dw += dw_n
            db += db_n
        return dx, dw, (None if b is None else db)

    def pool_samples(rng: np.random.Generator) -> list[Sample]:
        ties = rng.integers(0, 3, (1, 2, 4, 4)).astype(np.float64)
        out = [
            Sample("k2", (rng.standard_normal((2, 2, 4, 4)),), {"kernel_size": 2}),
            Sample("k3-s2-p1-odd", (rng.standard_normal((1, 2, 5, 5)),), {"kernel_size": 3, "stride": 2, "padding": 1}),
            Sample("k2x3-s1x2", (rng.standard_normal((1, 1, 4, 6)),), {"kernel_size": (2, 3), "stride": (1, 2)}),
            Sample("overlap-k2-s1", (rng.standard_normal((1, 1, 3, 4)),), {"kernel_size": 2, "stride": 1}),
            Sample(
                "k2x3-s1x2-p1x1",
                (rng.standard_normal((2, 1, 5, 7)),),
                {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1)},
            ),
            Sample("odd-7x7-k2-skips-last", (rng.standard_normal((1, 1, 7, 7)),), {"kernel_size": 2}),
            Sample("ties", (ties,), {"kernel_size": 2, "stride": 1}, fd=False),
            Sample("empty-batch", (np.zeros((0, 2, 4, 4)),), {"kernel_size": 2}),
            Sample("extremes", ((EXTREMES + 0.25 * np.arange(4)[:, None])[None, None],), {"kernel_size": 2}),
            Sample("nonfinite", (np.tile(NONFINITE, (1, 1, 4, 1)),), {"kernel_size": 2}, fd=False),
        ]
        return out

    def max_pool_samples(rng: np.random.Generator) -> list[Sample]:
        window = np.array([[[[-np.inf, 5.0], [1.0, 2.0]]]])
        return [
            *pool_samples(rng),
            Sample(
                "all-inf-window-padded",
                (window,),
                {"kernel_size": 2, "stride": 1, "padding": 1},
                fd=False,
            ),
            Sample("dilation2", (rng.standard_normal((1, 2, 6, 5)),), {"kernel_size": 2, "dilation": 2}),
            Sample(
                "dilation-2x1-pad1-s1",
                (rng.standard_normal((1, 1, 5, 5)),),
                {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": (2, 1)},
            ),
            Sample("ceil-5x7-k2", (rng.standard_normal((2, 1, 5, 7)),), {"kernel_size": 2, "ceil_mode": True}),
            Sample(
                "ceil-k3-s2-p1",
                (rng.standard_normal((1, 2, 6, 6)),),
                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            ),
            Sample(
                "ceil-dilation-ties",
                (rng.integers(0, 2, (1, 1, 6, 7)).astype(np.float64),),
                {"kernel_size": 2, "stride": 2, "dilation": 2, "ceil_mode": True},
                fd=False,
            ),
            Sample(
                "pad-over-half-refused", (np.zeros((1, 1, 4, 4)),), {"kernel_size": 2, "padding": 2}, raises=ValueError
            ),
        ]

    def avg_pool_samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((1, 2, 5, 6))
        return [
            *pool_samples(rng),
            Sample("exclude-pad", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
            Sample("ceil-5x6-k2", (x,), {"kernel_size": 2, "ceil_mode": True}),
            Sample("ceil-pad-include", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
            Sample(
                "ceil-pad-exclude",
                (x,),
                {"kernel_size": (3, 2), "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
            ),
            Sample("divisor-override", (x,), {"kernel_size": 2, "stride": 1, "divisor_override": 3}),
            Sample(
                "divisor-override-ceil-pad",
                (x,),
                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 5},
            ),
        ]

    def geometry(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> tuple:
        (r, s), (a, b), (d1, d2) = _pair(kernel_size), _pair(padding), _pair(dilation)
        u, v = (r, s) if stride is None else _pair(stride)
        return r, s, u, v, a, b, d1, d2

    def max_ref(
        x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode=False
    ):
        args = geometry(x, kernel_size, stride, padding, dilation)
        out = [ref.max_pool(image, *args, ceil_mode=ceil_mode) for image in x]
        if out:
            return np.array(out)
        empty = ref.max_pool(np.zeros(x.shape[1:]), *args, ceil_mode=ceil_mode)
        return np.zeros((0, *empty.shape))

    def max_grad(g: np.ndarray, x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation=1, **_):
        args = geometry(x, kernel_size, stride, padding, dilation)
        return (np.array([ref.max_pool_backward(x[n], g[n], *args) for n in range(len(x))]).reshape(x.shape),)

    def avg_options(kw: dict) -> tuple[dict, dict]:
        return {k: kw[k] for k in ("ceil_mode",) if k in kw}, {
            k: kw[k] for k in ("count_include_pad", "divisor_override") if k in kw
        }

    def avg_ref(x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, **kw: Any):
        r, s, u, v, a, b, _, _ = geometry(x, kernel_size, stride, padding)
        ceil, counting = avg_options(kw)
        out = [ref.avg_pool(image, r, s, u, v, a, b, **ceil, **counting) for image in x]
        if out:
            return np.array(out)
        return np.zeros((0, *ref.avg_pool(np.zeros(x.shape[1:]), r, s, u, v, a, b, **ceil, **counting).shape))

    def avg_grad(g: np.ndarray, x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, **kw: Any):
        r, s, u, v, a, b, _, _ = geometry(x, kernel_size, stride, padding)
        _, counting = avg_options(kw)
        grads = [ref.avg_pool_backward(x[n], g[n], r, s, u, v, a, b, **counting) for n in range(len(x))]
        return (np.array(grads).reshape(x.shape),)

    def pool_torch(name: str) -> Callable[..., Any]:
        return lambda torch, x, kernel_size, stride=None, padding=0, **kw: getattr(torch.nn.functional, name)(
            x, kernel_size, stride, padding, **kw
        )

    def adaptive_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("7x7-to-3x3-overlap", (rng.standard_normal((2, 2, 7, 7)),), {"output_size": 3}),
            Sample("5x6-to-2x4", (rng.standard_normal((1, 3, 5, 6)),), {"output_size": (2, 4)}),
            Sample("to-1x1-global", (rng.standard_normal((2, 3, 4, 5)),), {"output_size": 1}),
            Sample("up-3x2-to-5x4", (rng.standard_normal((1, 1, 3, 2)),), {"output_size": (5, 4)}),
            Sample("none-keeps-width", (rng.standard_normal((1, 2, 6, 3)),), {"output_size": (2, None)}),
            Sample("unbatched-CHW", (rng.standard_normal((3, 5, 5)),), {"output_size": 2}),
            Sample("ties", (rng.integers(0, 2, (1, 2, 6, 6)).astype(np.float64),), {"output_size": 4}, fd=False),
            Sample("empty-batch", (np.zeros((0, 2, 4, 4)),), {"output_size": 2}),
            Sample("extremes", ((EXTREMES + 0.25 * np.arange(4)[:, None])[None, None],), {"output_size": 3}),
            Sample("nonfinite", (np.tile(NONFINITE, (1, 1, 4, 1)),), {"output_size": 2}, fd=False),
        ]

    def adaptive(fn: Callable[..., np.ndarray], backward: bool = False) -> Callable[..., Any]:
        """Batch the (C, H, W) reference over any leading dims, output_size as torch reads it."""

        def call(*arrays: np.ndarray, output_size: Any) -> Any:
            x = arrays[-1]
            sizes = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
            p, q = (x.shape[-2 + i] if n is None else n for i, n in enumerate(sizes))
            planes = x.reshape(-1, *x.shape[-3:]) if x.ndim == 4 else x[None]
            if backward:
                g = arrays[0].reshape(-1, *arrays[0].shape[-3:])
                out = [fn(planes[n], g[n]) for n in range(len(planes))]
                return (np.array(out).reshape(x.shape) if out else np.zeros(x.shape),)
            out = [fn(plane, p, q) for plane in planes]
            return np.array(out).reshape(*x.shape[:-2], p, q) if out else np.zeros((*x.shape[:-2], p, q))

        return call

    def unpool_samples(rng: np.random.Generator) -> list[Sample]:
        def pooled(x: np.ndarray, **kw: Any) -> tuple:
            out = pooling.MaxPool2d.forward(Context(pooling.MaxPool2d), x, **kw)
            return np.array(out), pooling.max_pool2d_indices(x, **kw)

        x = rng.standard_normal((2, 2, 4, 6))
        vals, idx = pooled(x, kernel_size=2)
        vals3, idx3 = pooled(rng.standard_normal((1, 1, 5, 5)), kernel_size=3, stride=2, padding=1)
        vals_s1, idx_s1 = pooled(rng.standard_normal((1, 2, 4, 4)), kernel_size=2, stride=1)
        return [
            Sample("k2", (vals, idx), {"output_size": (4, 6)}),
            Sample("k2-odd-output-5x7", (vals, idx), {"output_size": (5, 7)}),
            Sample("k3-s2-p1-shared-argmax", (vals3, idx3), {"output_size": (5, 5)}, fd=False),
            Sample("overlapping-shared-argmax", (vals_s1, idx_s1), {"output_size": (4, 4)}, fd=False),
            Sample("unbatched", (vals[0], idx[0]), {"output_size": (4, 6)}),
            Sample("empty-batch", (np.zeros((0, 2, 2, 3)), np.zeros((0, 2, 2, 3), np.int64)), {"output_size": (4, 6)}),
            Sample("index-outside", (vals, idx + 100), {"output_size": (4, 6)}, raises=ValueError),
            Sample(
                "nonfinite",
                (np.tile(NONFINITE, (1, 1, 1, 1)), np.array([[[[0, 3, 5, 7]]]])),
                {"output_size": (2, 4)},
                fd=False,
            ),
        ]

    def unpool_ref(x: np.ndarray, indices: np.ndarray, output_size: tuple) -> np.ndarray:
        planes, index = x.reshape(-1, *x.shape[-3:]), indices.reshape(-1, *x.shape[-3:])
        out = [ref.max_unpool(planes[n], index[n], *output_size) for n in range(len(planes))]
        return np.array(out).reshape(*x.shape[:-2], *output_size) if out else np.zeros((*x.shape[:-2], *output_size))

    def unpool_grad(g: np.ndarray, x: np.ndarray, indices: np.ndarray, output_size: tuple) -> tuple:
        deltas, index = g.reshape(-1, *g.shape[-3:]), indices.reshape(-1, *x.shape[-3:])
        out = [ref.max_unpool_backward(deltas[n], index[n]) for n in range(len(index))]
        return (np.array(out).reshape(x.shape) if out else np.zeros(x.shape), None)

    return [
        OpInfo(
            conv.Conv2d,
            conv_samples,
            torch=lambda torch, x, w, b, **kw: torch.nn.functional.conv2d(x, w, b, **kw),
            ref=conv_ref,
            ref_grad=conv_grad,
        ),
        OpInfo(pooling.MaxPool2d, max_pool_samples, torch=pool_torch("max_pool2d"), ref=max_ref, ref_grad=max_grad),
        OpInfo(pooling.AvgPool2d, avg_pool_samples, torch=pool_torch("avg_pool2d"), ref=avg_ref, ref_grad=avg_grad),
        OpInfo(
            pooling.AdaptiveAvgPool2d,
            adaptive_samples,
            torch=lambda torch, x, output_size: torch.nn.functional.adaptive_avg_pool2d(x, output_size),
            ref=adaptive(ref.adaptive_avg_pool),
            ref_grad=adaptive(ref.adaptive_avg_pool_backward, backward=True),
        ),
        OpInfo(
            pooling.AdaptiveMaxPool2d,
            adaptive_samples,
            torch=lambda torch, x, output_size: torch.nn.functional.adaptive_max_pool2d(x, output_size),
            ref=adaptive(ref.adaptive_max_pool),
            ref_grad=adaptive(ref.adaptive_max_pool_backward, backward=True),
        ),
        OpInfo(
            pooling.MaxUnpool2d,
            unpool_samples,
            torch=lambda torch, x, indices, output_size: torch.nn.functional.max_unpool2d(
                x,
                indices,
                # torch checks output_size against (in − 1)·stride + kernel: pick the kernel that gives it
                (output_size[0] - x.shape[-2] + 1, output_size[1] - x.shape[-1] + 1),
                1,
                output_size=output_size,
            ),
            ref=unpool_ref,
            ref_grad=unpool_grad,
        ),
    ]


def _sequences() -> list[OpInfo]:
    def attention_samples(rng: np.random.Generator) -> list[Sample]:
        def qkv(batch: tuple, lq: int = 3, lk: int = 4, e: int = 2, ev: int = 3) -> tuple:
            return (
                rng.standard_normal((*batch, lq, e)),
                rng.standard_normal((*batch, lk, e)),
                rng.standard_normal((*batch, lk, ev)),
            )

        causal = np.where(np.tril(np.ones((3, 4), bool)), 0.0, -np.inf)
        one_row_masked = np.zeros((3, 4))
        one_row_masked[1] = -np.inf
        huge = tuple(a * 50 for a in qkv((1,)))
        return [
            Sample("batch2", qkv((2,))),
            Sample("no-batch", qkv(())),
            Sample("broadcast-batch", (rng.standard_normal((2, 1, 3, 2)), *qkv((3,))[1:])),
            Sample("float-mask-broadcast", (*qkv((2,)), rng.standard_normal((1, 4)))),
            Sample("causal-mask", (*qkv((2,)), causal), grad=(0, 1, 2)),
            Sample("row-fully-masked", (*qkv((1,)), one_row_masked), grad=(0, 1, 2)),
            Sample("scale", qkv((2,), lq=1), {"scale": 0.3}),
            Sample("empty-queries", qkv((2,), lq=0)),
            Sample("extremes", huge, fd=False),
            Sample("nonfinite", (np.full((1, 3, 2), np.nan), *qkv((1,))[1:]), fd=False),
        ]

    def attention_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None, scale: Any = None) -> np.ndarray:
        return _attention(q, k, v, mask, scale)[0]

    def attention_grad(g: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None, scale=None):
        _, probs, scores, s = _attention(q, k, v, mask, scale)
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        d_v = np.swapaxes(probs, -1, -2) @ g
        d_probs = g @ np.swapaxes(v, -1, -2)
        d_scores = np.zeros(probs.shape)
        for index in np.ndindex(probs.shape[:-1]):  # softmax Jacobian row by row; masked rows get 0
            if not np.isneginf(scores[index]).all():
                d_scores[index] = ref.softmax_backward(scores[index], d_probs[index])
        grads = (
            unbroadcast(s * d_scores @ np.broadcast_to(k, (*batch, *k.shape[-2:])), q.shape),
            unbroadcast(s * np.swapaxes(d_scores, -1, -2) @ np.broadcast_to(q, (*batch, *q.shape[-2:])), k.shape),
            unbroadcast(d_v, v.shape),
        )
        return grads if mask is None else (*grads, unbroadcast(d_scores, np.shape(mask)))

    def embedding_samples(rng: np.random.Generator) -> list[Sample]:
        w = rng.standard_normal((5, 3))
        return [
            Sample("2x3-indices", (np.array([[0, 4, 0], [2, 2, 1]]), w)),
            Sample("0d-index", (np.array(3), w)),
            # the padding row is used but frozen (torch's rule): finite differences see its slope
            Sample("padding-idx", (np.array([1, 0, 1, 3]), w), {"padding_idx": 1}, fd=False),
            Sample("empty", (np.zeros((0, 2), int), w)),
            Sample("nonfinite", (np.array([0, 1]), np.array([[np.nan, 1.0], [np.inf, 2.0]])), fd=False),
        ]

    def recurrent_samples(gates: int, two_states: bool = False, relu: bool = False) -> Callable[..., list[Sample]]:
        def samples(rng: np.random.Generator) -> list[Sample]:
            def arrays(t: int, n: int, d: int, h: int, bias: bool = True, scale: float = 1.0) -> tuple:
                states = (rng.standard_normal((n, h)),) * (2 if two_states else 1)
                weights = (rng.standard_normal((gates * h, d)) * 0.6, rng.standard_normal((gates * h, h)) * 0.6)
                biases = (rng.standard_normal(gates * h), rng.standard_normal(gates * h)) if bias else ()
                return (rng.standard_normal((t, n, d)) * scale, *states, *weights, *biases)

            out = [
                Sample("3x2x3-h3", arrays(3, 2, 3, 3)),
                Sample("reverse", arrays(3, 2, 2, 2), {"reverse": True}),
                Sample("no-bias", arrays(2, 1, 3, 2, bias=False)),
                Sample("length1-batch1", arrays(1, 1, 2, 3)),
                Sample("empty-batch", arrays(2, 0, 2, 2)),
                Sample("saturated", arrays(2, 2, 2, 2, scale=50.0)),
                Sample(
                    "nonfinite",
                    tuple(
                        np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a) if i == 0 else a
                        for i, a in enumerate(arrays(2, 1, 2, 2))
                    ),
                    fd=False,
                ),
            ]
            if relu:
                out.append(Sample("relu", arrays(3, 2, 2, 3), {"nonlinearity": "relu"}))
            return out

        return samples

    def projected_lstm_samples(rng: np.random.Generator) -> list[Sample]:
        def arrays(t: int, n: int, d: int, h: int, p: int, bias: bool = True, scale: float = 1.0) -> tuple:
            states = (rng.standard_normal((n, p)), rng.standard_normal((n, h)))
            weights = tuple(rng.standard_normal(shape) * 0.6 for shape in ((4 * h, d), (4 * h, p), (p, h)))
            biases = (rng.standard_normal(4 * h), rng.standard_normal(4 * h)) if bias else ()
            return (rng.standard_normal((t, n, d)) * scale, *states, *weights, *biases)

        nan_x = arrays(2, 1, 2, 3, 2)
        nan_x[0][0, 0, 0] = np.nan
        return [
            Sample("3x2x3-h4-p2", arrays(3, 2, 3, 4, 2)),
            Sample("proj-larger-h2-p3", arrays(2, 2, 2, 2, 3)),
            Sample("reverse", arrays(3, 2, 2, 3, 2), {"reverse": True}),
            Sample("no-bias", arrays(2, 1, 3, 3, 1, bias=False)),
            Sample("empty-batch", arrays(2, 0, 2, 3, 2)),
            Sample("saturated", arrays(2, 2, 2, 3, 2, scale=50.0)),
            Sample("nonfinite", nan_x, fd=False),
        ]

    return [
        OpInfo(
            recurrent.ProjectedLSTM,
            projected_lstm_samples,
            torch=_torch_projected_lstm,
            ref=_ref_projected_lstm,
        ),
        OpInfo(
            attention.ScaledDotProductAttention,
            attention_samples,
            torch=lambda torch, q, k, v, mask=None, scale=None: torch.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, scale=scale
            ),
            ref=attention_ref,
            ref_grad=attention_grad,
        ),
        OpInfo(
            embedding.Embedding,
            embedding_samples,
            torch=lambda torch, indices, w, padding_idx=None: torch.nn.functional.embedding(indices, w, padding_idx),
            ref=lambda indices, w, padding_idx=None: ref.embedding(indices, w),
            ref_grad=lambda g, indices, w, padding_idx=None: (None, ref.embedding_backward(g, indices, w, padding_idx)),
        ),
        OpInfo(
            recurrent.RNN,
            recurrent_samples(1, relu=True),
            torch=_torch_rnn,
            ref=_ref_rnn,
        ),
        OpInfo(recurrent.LSTM, recurrent_samples(4, two_states=True), torch=_torch_lstm, ref=_ref_lstm),
        OpInfo(recurrent.GRU, recurrent_samples(3), torch=_torch_gru, ref=_ref_gru),
    ]


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any, scale: Any) -> tuple:
    """O = softmax(s·Q Kᵀ + M) V row by row with reference.softmax; a row of only −∞ attends to
    nothing (0), as torch. Returns O, P, S and s."""
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = s * (q @ np.swapaxes(k, -1, -2)) + (0.0 if mask is None else mask)
    probs = np.zeros(scores.shape)
    for index in np.ndindex(scores.shape[:-1]):
        if not np.isneginf(scores[index]).all():
            probs[index] = ref.softmax(scores[index])
    return probs @ v, probs, scores, s


def _recurrence(step: Callable[..., tuple], x: np.ndarray, states: tuple, reverse: bool) -> list:
    """Run ``step(x_t, states) -> states`` over time (backwards when reverse); outputs aligned with x."""
    outputs: list = [None] * len(x)
    for t in range(len(x) - 1, -1, -1) if reverse else range(len(x)):
        states = step(x[t], states)
        outputs[t] = states
    return outputs


def _ref_rnn(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False) -> np.ndarray:
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)."""
    act = ref.tanh if nonlinearity == "tanh" else ref.relu
    bias = (0.0 if b_ih is None else b_ih) + (0.0 if b_hh is None else b_hh)
    steps = _recurrence(lambda xt, st: (act(xt @ w_ih.T + st[0] @ w_hh.T + bias),), x, (h0,), reverse)
    return np.array([st[0] for st in steps])


def _ref_lstm(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False) -> np.ndarray:
    """(i, f, g, o) = (σ, σ, tanh, σ)(W_ih x + b_ih + W_hh h + b_hh), c = f·c + i·g, h = o·tanh c;
    rows 0…T−1 the h_t, row T the final c_T."""
    bias = (0.0 if b_ih is None else b_ih) + (0.0 if b_hh is None else b_hh)

    def step(xt: np.ndarray, st: tuple) -> tuple:
        i, f, g, o = np.split(xt @ w_ih.T + st[0] @ w_hh.T + bias, 4, axis=-1)
        c = ref.sigmoid(f) * st[1] + ref.sigmoid(i) * ref.tanh(g)
        return ref.sigmoid(o) * ref.tanh(c), c

    steps = _recurrence(step, x, (h0, c0), reverse)
    final_c = steps[0 if reverse else -1][1]
    return np.array([*(st[0] for st in steps), final_c])


def _ref_projected_lstm(x, h0, c0, w_ih, w_hh, w_hr, b_ih=None, b_hh=None, reverse=False) -> np.ndarray:
    """reference.lstm with W_hr, one sample at a time; packed as ProjectedLSTM's output."""
    bias = (0.0 if b_ih is None else b_ih) + (0.0 if b_hh is None else b_hh)
    proj, hidden = w_hr.shape
    out = np.zeros((len(x) + 1, x.shape[1], max(proj, hidden)))
    for n in range(x.shape[1]):
        steps = x[::-1, n] if reverse else x[:, n]
        run = ref.lstm(steps, h0[n], c0[n], w_ih, w_hh, bias * np.ones(4 * hidden), w_hr=w_hr)
        hs = run["hs"][::-1] if reverse else run["hs"]
        out[: len(x), n, :proj] = hs
        out[len(x), n, :hidden] = run["cs"][-1]
    return out


def _torch_projected_lstm(torch, x, h0, c0, w_ih, w_hh, w_hr, b_ih=None, b_hh=None, reverse=False) -> Any:
    def step(xt: Any, st: tuple) -> tuple:
        a = xt @ w_ih.T + st[0] @ w_hh.T + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
        i, f, g, o = a.chunk(4, dim=-1)
        c = torch.sigmoid(f) * st[1] + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c)) @ w_hr.T, c

    steps = _torch_recurrence(torch, step, x, (h0, c0), reverse)
    proj, hidden = w_hr.shape
    width = max(proj, hidden)
    pad = torch.nn.functional.pad
    rows = [pad(st[0], (0, width - proj)) for st in steps]
    return torch.stack([*rows, pad(steps[0 if reverse else -1][1], (0, width - hidden))])


def _ref_gru(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False) -> np.ndarray:
    """r, z = σ(…), n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h = (1 − z)·n + z·h."""

    def step(xt: np.ndarray, st: tuple) -> tuple:
        gi = xt @ w_ih.T + (0.0 if b_ih is None else b_ih)
        gh = st[0] @ w_hh.T + (0.0 if b_hh is None else b_hh)
        (ir, iz, i_n), (hr, hz, hn) = np.split(gi, 3, axis=-1), np.split(gh, 3, axis=-1)
        r, z = ref.sigmoid(ir + hr), ref.sigmoid(iz + hz)
        n = ref.tanh(i_n + r * hn)
        return ((1 - z) * n + z * st[0],)

    return np.array([st[0] for st in _recurrence(step, x, (h0,), reverse)])


def _torch_recurrence(torch: Any, step: Callable[..., tuple], x: Any, states: tuple, reverse: bool) -> list:
    outputs: list = [None] * len(x)
    for t in range(len(x) - 1, -1, -1) if reverse else range(len(x)):
        states = step(x[t], states)
        outputs[t] = states
    return outputs


def _torch_rnn(torch, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False) -> Any:
    act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(xt: Any, st: tuple) -> tuple:
        a = xt @ w_ih.T + st[0] @ w_hh.T
        return (act(a + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)),)

    return torch.stack([st[0] for st in _torch_recurrence(torch, step, x, (h0,), reverse)])


def _torch_lstm(torch, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False) -> Any:
    def step(xt: Any, st: tuple) -> tuple:
        a = xt @ w_ih.T + st[0] @ w_hh.T + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
        i, f, g, o = a.chunk(4, dim=-1)
        c = torch.sigmoid(f) * st[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    steps = _torch_recurrence(torch, step, x, (h0, c0), reverse)
    return torch.stack([*(st[0] for st in steps), steps[0 if reverse else -1][1]])


def _torch_gru(torch, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False) -> Any:
    def step(xt: Any, st: tuple) -> tuple:
        gi = xt @ w_ih.T + (0 if b_ih is None else b_ih)
        gh = st[0] @ w_hh.T + (0 if b_hh is None else b_hh)
        (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, dim=-1), gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        return ((1 - z) * torch.tanh(i_n + r * hn) + z * st[0],)

    return torch.stack([st[0] for st in _torch_recurrence(torch, step, x, (h0,), reverse)])


def _torch_names() -> list[OpInfo]:
    """The ops behind the torch names tutorials use first: sin, cos, einsum, expand, scatter."""

    def einsum_samples(rng: np.random.Generator) -> list[Sample]:
        cases = [  # (case name, equation, shape of a, shape of b)
            ("matmul", "ij,jk->ik", (3, 4), (4, 2)),
            ("batched-matmul", "bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
            ("dot", "i,i->", (4,), (4,)),
            ("outer", "i,j->ij", (3,), (2,)),
            ("outer-size1", "ij,kl->ijkl", (2, 3), (1, 2)),
            ("attention-scores", "bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
            ("implicit-output", "ij,j", (3, 4), (4,)),
            ("ellipsis-broadcast", "...ij,...jk->...ik", (2, 3, 4), (4, 2)),
            ("letter-summed-alone", "ij,jk->k", (3, 4), (4, 2)),
            ("size1-broadcast", "ij,j->i", (3, 4), (1,)),
            ("empty-0x4", "ij,jk->ik", (0, 4), (4, 2)),
        ]
        out = [
            Sample(name, (rng.standard_normal(sa), rng.standard_normal(sb)), {"equation": equation})
            for name, equation, sa, sb in cases
        ]
        out.append(Sample("one-operand-ij->j", (rng.standard_normal((3, 4)),), {"equation": "ij->j"}))
        out.append(
            Sample(
                "three-operands",
                tuple(rng.standard_normal(s) for s in [(2, 3), (3, 4), (4,)]),
                {"equation": "ij,jk,k->i"},
            )
        )
        out.append(
            Sample(
                "extremes", (np.array([EXTREMES]), np.array([[1.0], [2.0], [-1.0], [0.5]])), {"equation": "ij,jk->ik"}
            )
        )
        out.append(Sample("nonfinite", (np.array([NONFINITE]), np.ones((4, 2))), {"equation": "ij,jk->ik"}, fd=False))
        out.append(Sample("diagonal-refused", (rng.standard_normal((3, 3)),), {"equation": "ii->i"}, raises=ValueError))
        out.append(
            Sample(
                "sizes-differ",
                (rng.standard_normal((3, 4)), rng.standard_normal((3, 2))),
                {"equation": "ij,jk->ik"},
                raises=ValueError,
            )
        )
        return out

    def einsum_ref(*xs: np.ndarray, equation: str) -> np.ndarray:
        if "..." in equation or "->" not in equation:
            return np.einsum(equation, *xs)
        return ref.einsum(equation, *xs)

    def expand_samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample("3x1->3x4", (rng.standard_normal((3, 1)),), {"shape": (3, 4)}),
            Sample("new-lead-2x3x1->4x2x3x5", (rng.standard_normal((2, 3, 1)),), {"shape": (4, 2, 3, 5)}),
            Sample("minus-one", (rng.standard_normal((1, 3)),), {"shape": (2, -1)}),
            Sample("0d->2x2", (np.array(rng.standard_normal()),), {"shape": (2, 2)}),
            Sample("same", (rng.standard_normal((2, 3)),), {"shape": (2, 3)}),
            Sample("empty-0x1->0x3", (np.zeros((0, 1)),), {"shape": (0, 3)}),
            Sample("nonfinite", (NONFINITE.reshape(4, 1).copy(),), {"shape": (4, 2)}, fd=False),
            Sample("not-size-1", (rng.standard_normal((3, 2)),), {"shape": (3, 4)}, raises=ValueError),
        ]

    def scatter_samples(rng: np.random.Generator) -> list[Sample]:
        x = rng.standard_normal((3, 4))
        return [
            Sample("dim1", (x, rng.standard_normal((3, 2))), {"dim": 1, "index": np.array([[0, 3], [1, 2], [2, 0]])}),
            Sample("dim0", (x, rng.standard_normal((1, 4))), {"dim": 0, "index": np.array([[2, 0, 1, 2]])}),
            Sample(
                "dim-1-3d",
                (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 1))),
                {"dim": -1, "index": np.zeros((2, 3, 1), int)},
            ),
            Sample(
                "repeats-last-wins",
                (x, rng.standard_normal((1, 2))),
                {"dim": 1, "index": np.array([[1, 1]])},
                xfail={
                    "torch": "torch sends the gradient to every src element written to one place, bprop to the one kept"
                },
            ),
            Sample("empty-index", (x, np.zeros((3, 0))), {"dim": 1, "index": np.zeros((3, 0), int)}),
            Sample(
                "nonfinite",
                (np.array([NONFINITE]), np.array([[np.nan]])),
                {"dim": 1, "index": np.array([[1]])},
                fd=False,
            ),
            Sample(
                "index-shape",
                (x, rng.standard_normal((3, 2))),
                {"dim": 1, "index": np.zeros((3, 1), int)},
                raises=ValueError,
            ),
        ]

    def scatter_ref(x: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        return ref.scatter(x, src, dim % x.ndim, index)

    def torch_expand(torch: Any, x: Any, shape: tuple) -> Any:
        return x.expand(*shape)

    return [
        OpInfo(
            elementwise.Sin,
            unary(extremes_fd=False),
            torch=lambda torch, x: torch.sin(x),
            ref=lambda x: _quiet(np.sin, x),
            ref_grad=lambda g, x: _quiet(elementwise_grad(ref.sin_prime), g, x),
        ),
        OpInfo(
            elementwise.Cos,
            unary(extremes_fd=False),
            torch=lambda torch, x: torch.cos(x),
            ref=lambda x: _quiet(np.cos, x),
            ref_grad=lambda g, x: _quiet(elementwise_grad(ref.cos_prime), g, x),
        ),
        OpInfo(
            linalg.Einsum,
            einsum_samples,
            torch=lambda torch, *xs, equation: torch.einsum(equation, *xs),
            ref=einsum_ref,
            ref_grad=affine_vjp(einsum_ref),
        ),
        OpInfo(shape.Expand, expand_samples, torch=torch_expand, ref=ref.expand, ref_grad=affine_vjp(ref.expand)),
        OpInfo(
            shape.Scatter,
            scatter_samples,
            torch=lambda torch, x, src, dim, index: torch.scatter(x, dim, index, src),
            ref=scatter_ref,
            ref_grad=affine_vjp(scatter_ref),
        ),
    ]


OPS: list[OpInfo] = [
    *_activations(),
    *_elementwise(),
    *_reductions(),
    *_shapes(),
    *_linalg(),
    *_dropout(),
    *_normalization(),
    *_losses(),
    *_convolutions(),
    *_sequences(),
    *_torch_names(),
]
