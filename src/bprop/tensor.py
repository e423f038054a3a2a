"""Tensor: an ndarray plus what autograd needs (grad, requires_grad, grad_fn).

As in torch, ``t.data`` and ``t.grad`` are Tensors: ``t.data`` shares t's memory outside the
graph, ``t.grad`` is the gradient tensor the engine accumulates into (None until a backward
reaches t); ``t.numpy()`` or ``np.asarray(t)`` gives the array. Inside bprop the raw ndarray
is ``t._data`` and the gradient's is ``t._grad._data``: ops, the engine and optimizers work on
those, so the hot paths never build a wrapper.

Floating data defaults to float32 (Python floats and lists become float32; NumPy arrays keep
their dtype, as ``torch.tensor`` does, so float64 is there on request). Integer tensors hold
labels and indices and never require grad. Every differentiable method calls an op from
``bprop.ops``; the Tensor itself holds no gradient math.
"""

from __future__ import annotations

import math
import weakref
from collections import namedtuple
from typing import Any, Callable, Sequence

import numpy as np

from bprop import autograd, printing
from bprop.autograd import views
from bprop.devices import check_device
from bprop.dtypes import scalar_operand
from bprop.ops import activation, elementwise, linalg, reduction, shape
from bprop.tensor_methods import TorchMethods

DTypeLike = Any
float32 = np.float32
float64 = np.float64
int64 = np.int64

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _to_array(data: Any, dtype: DTypeLike = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    explicit = isinstance(data, (np.ndarray, np.generic))
    array = np.array(data)
    if not explicit and array.dtype == np.float64:
        return array.astype(np.float32)  # Python floats: float32 by default, as in torch
    if array.dtype == object:
        raise TypeError(f"cannot make a tensor from {type(data).__name__}: ragged or non-numeric data")
    return array


class Tensor(TorchMethods):
    """An n-dimensional array that records the operations applied to it.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.]])
    """

    __slots__ = ("__weakref__", "_data", "_grad", "_hooks", "_version_counter", "_view", "grad_fn", "requires_grad")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # __eq__ is elementwise, identity stays hashable (like torch)

    def __init__(self, data: Any, dtype: DTypeLike = None, requires_grad: bool = False):
        self._data: np.ndarray = _to_array(data, dtype)
        self._grad: Tensor | None = None
        self.grad_fn: autograd.Context | None = None
        self.requires_grad = False
        self._version_counter = [0, 0]  # [version, epoch of the last in-place change]: see autograd
        self._hooks: autograd.TensorHooks | None = None  # a leaf's hooks (a non-leaf's are on grad_fn)
        self._view: autograd.versions.ViewOf | None = None  # how this view is made from its base
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data: Any, ctx: autograd.Context | None) -> Tensor:
        out = object.__new__(Tensor)
        out._data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out._grad = None
        out.grad_fn = ctx
        out.requires_grad = ctx is not None
        out._version_counter = [0, 0]
        out._hooks = None
        out._view = None
        return out

    # ----- data and grad: Tensors, as in torch --------------------------------------------
    @property
    def data(self) -> Tensor:
        """The values as a tensor outside the graph: same memory, requires_grad False and its own
        version counter, so in-place changes through it are not tracked (torch's ``.data``)."""
        return Tensor._from_op(self._data, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        self._data = value._data

    @property
    def grad(self) -> Tensor | None:
        """∂C/∂self after backward (accumulated over backward calls), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

    # ----- properties -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ----- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("numpy() on a tensor that requires grad: call .detach().numpy()")
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter, like torch)."""
        out = Tensor._from_op(self._data, None)
        out._version_counter = self._version_counter
        return out

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(dtype), to(device), to(device, dtype), to(other): see TorchMethods._to_arguments."""
        dtype = self._to_arguments(*args, **kwargs)
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # integer and bool tensors cannot require grad: the result is a constant
            return Tensor._from_op(self._data.astype(dtype), None)
        return elementwise.Cast.apply(self, dtype=dtype)

    astype = to

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(f"only floating tensors can require grad, this one is {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # ----- in-place changes: each bumps the version counter (see autograd) --------------------
    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or a view sharing its memory) has had."""
        return self._version_counter[0]

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: float) -> Tensor:
        self[...] = value
        return self

    def copy_(self, src: Any) -> Tensor:
        """Write src (broadcast to this shape) into this tensor; the gradient flows to src."""
        self[...] = src
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._in_place(np.add, elementwise.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._in_place(np.subtract, elementwise.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._in_place(np.multiply, elementwise.Mul, other)

    def div_(self, other: Any) -> Tensor:
        return self._in_place(np.true_divide, elementwise.Div, other)

    def _tracks_in_place(self, other: Any) -> bool:
        """Whether an in-place change must be recorded in the graph (torch's rule), raising for
        a leaf that requires grad: changing it would lose the gradient of its old values."""
        if self._view is not None and autograd.is_grad_enabled():
            autograd.versions.refresh(self)  # its base may have changed since its grad_fn was made
        if not autograd.is_grad_enabled() or not (self.requires_grad or getattr(other, "requires_grad", False)):
            return False
        if self.requires_grad and (self.grad_fn is None or len(self._version_counter) > 2):
            what = "leaf tensor" if self.grad_fn is None else "view of a leaf tensor"
            raise RuntimeError(
                f"in-place change of a {what} that requires grad (shape {self.shape}): its "
                "gradient would be lost. Do it under `with bp.no_grad():` (as optimizers do) or "
                "use the out-of-place operator (w = w + 1)"
            )
        return True

    def _in_place(self, ufunc: np.ufunc, op: type[autograd.ArrayFunction], other: Any) -> Tensor:
        if self._tracks_in_place(other):
            self._become(op.apply(self._before_change(), self._operand(other)))
            return self
        ufunc(self._data, other._data if isinstance(other, Tensor) else other, out=self._data, casting="same_kind")
        autograd.bump_version(self._version_counter)
        return self

    def _before_change(self) -> Tensor:
        """A copy of this tensor as it is now, on the same graph node: the op recording an
        in-place change saves it, so later changes to self cannot reach its backward."""
        before = Tensor._from_op(self._data.copy(), self.grad_fn)
        before.requires_grad = self.requires_grad
        return before

    def _become(self, result: Tensor) -> None:
        """Write an in-place change computed out of place into self and move self onto its node."""
        if result.shape != self.shape:
            raise RuntimeError(
                f"in-place result of shape {result.shape} does not fit the tensor's shape {self.shape} "
                "(the other operand may broadcast into this tensor, not this tensor into it)"
            )
        if self._view is not None:
            views.write_through(self, result)  # the base's graph records the change too
            return
        np.copyto(self._data, result._data, casting="same_kind")
        self.grad_fn = result.grad_fn
        self.requires_grad = True
        autograd.bump_version(self._version_counter)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", **printing.OPTIONS)
        extra = ""
        if self.dtype not in (np.float32, np.int64, np.bool_) or (self._data.size == 0 and self.dtype != np.float32):
            extra += f", dtype={self.dtype}"  # torch's rule: the default float, int64 and bool go unnamed
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __array__(self, dtype: DTypeLike = None, copy: bool | None = None) -> np.ndarray:
        # np.array(t) asks for copy=True and does not copy again: handing out self._data would alias it
        if copy or (dtype is not None and np.dtype(dtype) != self.dtype):
            return self._data.astype(self.dtype if dtype is None else dtype)
        return self._data

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ----- autograd ---------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute ∂self/∂leaf for every leaf that requires grad and add it to ``leaf.grad``.

        ``grad`` is ∂C/∂self; it may be omitted only when self is a scalar (then it is 1).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad)"
            )
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape "
                    f"{self.shape}; pass grad= of that shape or reduce first (e.g. .sum())"
                )
            grad = np.ones_like(self._data)
        else:
            grad = _to_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad) has shape {grad.shape}, the tensor {self.shape}")
        autograd.run_backward(self, grad, retain_graph=retain_graph)

    # ----- arithmetic -------------------------------------------------------------------
    def _operand(self, other: Any) -> Any:
        """A Python number as a 0-d array of the dtype torch gives ``self (op) number``
        (``bprop.dtypes``: float32 * 2.5 stays float32, int64 * 1.5 is float32)."""
        if isinstance(other, (Tensor, np.ndarray)):
            return other
        return scalar_operand(other, self._data.dtype)

    def __add__(self, other: Any) -> Tensor:
        return elementwise.Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return elementwise.Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return elementwise.Sub.apply(self, self._bool_checked(other))

    def __rsub__(self, other: Any) -> Tensor:
        return elementwise.Sub.apply(self._bool_checked(other), self)

    def _bool_checked(self, other: Any) -> Any:
        if isinstance(other, (bool, np.bool_)):  # _operand would turn it into this tensor's dtype
            raise RuntimeError("sub: not supported for bool operands (as in torch)")
        return self._operand(other)

    def __mul__(self, other: Any) -> Tensor:
        return elementwise.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return elementwise.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return elementwise.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return elementwise.Div.apply(self._operand(other), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)):
            if self._data.dtype.kind != "f" and not isinstance(exponent, float):
                return elementwise.Pow.apply(self, self._operand(exponent))  # integer powers stay integer
            return elementwise.PowScalar.apply(self, exponent=float(exponent))
        return elementwise.Pow.apply(self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return elementwise.Pow.apply(self._operand(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return elementwise.Neg.apply(self)

    def __abs__(self) -> Tensor:
        return elementwise.Abs.apply(self)

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(np.add, elementwise.Add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(np.subtract, elementwise.Sub, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(np.multiply, elementwise.Mul, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(np.true_divide, elementwise.Div, other)

    # comparisons give bool tensors outside the graph
    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._from_op(ufunc(self._data, other), None)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.not_equal, other)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    # ----- elementwise functions -----------------------------------------------------------
    def exp(self) -> Tensor:
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        return elementwise.Log.apply(self)

    def sqrt(self) -> Tensor:
        return elementwise.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return elementwise.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return elementwise.Clip.apply(self, low=min, high=max)

    clamp = clip

    def tanh(self) -> Tensor:
        return activation.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return activation.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return activation.ReLU.apply(self)

    def softmax(self, dim: int = -1) -> Tensor:
        return activation.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return activation.LogSoftmax.apply(self, dim=dim)

    # ----- reductions -------------------------------------------------------------------
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return reduction.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return reduction.Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool = True,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        """Variance with torch's argument order (dim, unbiased, keepdim); ``correction`` overrides
        ``unbiased`` (1: divide by N − 1, 0: by N)."""
        correction = int(unbiased) if correction is None else correction
        return reduction.Var.apply(self, dim=dim, keepdim=keepdim, correction=correction)

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool = True,
        keepdim: bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        """Standard deviation, arguments as ``var``; its gradient is 0 where the slice is constant, as torch."""
        correction = int(unbiased) if correction is None else correction
        return reduction.Std.apply(self, dim=dim, keepdim=keepdim, correction=correction)

    def norm(self, p: float | str = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """The p-norm over ``dim`` (all dims when None), as torch's ``Tensor.norm``: p = 2 (or
        "fro") by default, any p > 0, or inf for the largest magnitude."""
        p = 2.0 if p == "fro" else float(p)
        return reduction.Norm.apply(self, p=p, dim=dim, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
        """Without dim: the largest value (ties share its gradient, like amax). With dim:
        (values, indices) as in torch, the gradient going to the returned index only."""
        return self._extreme(reduction.Max, np.argmax, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
        return self._extreme(reduction.Min, np.argmin, dim, keepdim)

    def _extreme(self, op: type, arg: Any, dim: int | None, keepdim: bool) -> Tensor | MaxResult:
        if dim is None:
            return op.apply(self, dim=None, keepdim=keepdim)
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(
                f"{op.__name__.lower()}(dim) takes one int dim, got {dim!r}; "
                f"a{op.__name__.lower()}(dim) reduces several"
            )
        axes = reduction.normalise_dims(dim, self.ndim)  # also rejects a dim out of range
        if self.ndim == 0:  # as torch: nothing to reduce, the value itself at index 0
            return MaxResult(self.reshape(()), Tensor._from_op(np.zeros((), np.int64), None))
        (axis,) = axes
        if self.shape[axis] == 0:
            raise ValueError(f"{op.__name__.lower()}(): cannot reduce dim {dim} of size 0 (shape {self.shape})")
        indices = arg(self._data, axis=axis, keepdims=True)
        values = shape.Gather.apply(self, dim=axis, index=indices)
        if not keepdim:
            values, indices = values.squeeze(axis), np.squeeze(indices, axis)
        return MaxResult(values, Tensor._from_op(indices, None))

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return reduction.Max.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return reduction.Min.apply(self, dim=dim, keepdim=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        out = np.argmax(self._data, axis=dim, keepdims=keepdim)
        return Tensor._from_op(np.asarray(out), None)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        out = np.argmin(self._data, axis=dim, keepdims=keepdim)
        return Tensor._from_op(np.asarray(out), None)

    # ----- shape ------------------------------------------------------------------------
    def reshape(self, *shape_: int | Sequence[int]) -> Tensor:
        new = tuple(shape_[0]) if len(shape_) == 1 and not isinstance(shape_[0], (int, np.integer)) else shape_
        return shape.Reshape.apply(self, shape=new)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims start_dim..end_dim into one (a reshape, so its gradient is a reshape)."""
        if not self.shape:
            return self.reshape((1,))
        for dim in (start_dim, end_dim):
            if not -self.ndim <= dim < self.ndim:
                raise IndexError(
                    f"flatten: dim {dim} is out of range for shape {self.shape} "
                    f"(expected one in [{-self.ndim}, {self.ndim - 1}])"
                )
        start, end = start_dim % self.ndim, end_dim % self.ndim
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        merged = math.prod(self.shape[start : end + 1])
        return self.reshape((*self.shape[:start], merged, *self.shape[end + 1 :]))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return shape.Permute.apply(self, dims=tuple(dims))

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        order = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)) else dims
        return shape.Permute.apply(self, dims=order)

    def unsqueeze(self, dim: int) -> Tensor:
        new = list(self.shape)
        new.insert(dim if dim >= 0 else self.ndim + 1 + dim, 1)
        return self.reshape(tuple(new))

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        if self.shape[dim] != 1:
            return self
        new = list(self.shape)
        del new[dim]
        return self.reshape(tuple(new))

    def __getitem__(self, index: Any) -> Tensor:
        return shape.GetItem.apply(self, index=_index_arrays(index))

    def gather(self, dim: int, index: Any) -> Tensor:
        """torch.gather: out[…, j, …] = self[…, index[…, j, …], …] along ``dim``."""
        return shape.Gather.apply(self, dim=dim, index=index._data if isinstance(index, Tensor) else index)

    def __setitem__(self, index: Any, value: Any) -> None:
        index = _index_arrays(index)
        if self._tracks_in_place(value):
            self._become(self._with_item_set(index, value))
            return
        self._data[index] = value._data if isinstance(value, Tensor) else value
        autograd.bump_version(self._version_counter)

    def _with_item_set(self, index: Any, value: Any) -> Tensor:
        """self with self[index] = value, out of place and differentiable in both: a gather
        places value's elements (broadcast to the indexed region) and a where keeps the rest."""
        slots = np.full(self.shape, -1, dtype=np.intp)
        region = slots[index].shape
        slots[index] = np.arange(int(np.prod(region))).reshape(region)  # repeated indices: last wins, as NumPy
        chosen = slots >= 0
        value = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=self.dtype))
        spread = (value + np.zeros(region, dtype=self.dtype)).reshape(-1)
        placed = spread[np.where(chosen, slots, 0)] if spread.shape[0] else self._before_change()
        return elementwise.Where.apply(chosen, placed, self._before_change())

    # ----- hooks (torch's semantics; see autograd.hooks.TensorHooks.run) ------------------------------
    def register_hook(self, fn: Callable[[np.ndarray], Any]) -> autograd.RemovableHandle:
        """Call ``fn(grad)`` with ∂C/∂self during every backward through this tensor; fn returns
        None or a replacement gradient (ndarray or Tensor of self's shape), which flows on.

        On a leaf, hooks run on its total gradient before it is added to ``.grad``. Returns a
        handle whose ``remove()`` unregisters fn."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        return self._hook_store().add(fn)

    def _hook_store(self) -> autograd.TensorHooks:
        owner = self if self.grad_fn is None else self.grad_fn
        hooks = self._hooks if owner is self else owner.hooks
        if hooks is None:
            hooks = autograd.TensorHooks()
            if owner is self:
                self._hooks = hooks
            else:
                owner.hooks = hooks
        return hooks

    def retain_grad(self) -> None:
        """Keep ∂C/∂self in ``.grad`` for this non-leaf tensor too (leaves always keep theirs);
        later backward passes add to it, as for leaves."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            self._hook_store().retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor after retain_grad() (False for leaves, as in torch)."""
        hooks = self.grad_fn.hooks if self.grad_fn is not None else None
        return hooks is not None and hooks.retained is not None and hooks.retained() is self


def _check_assigned_grad(t: Tensor, grad: Any) -> None:
    """torch's checks on ``t.grad = grad``: a Tensor of t's dtype and shape."""
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(grad).__name__}")
    if grad.shape != t.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
            f"'{list(t.shape)}'. Please ensure that the gradient and the tensor are the same size"
        )
    if grad.dtype != t.dtype:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{grad.dtype}' to a tensor with dtype "
            f"'{t.dtype}': the gradient must have the tensor's dtype"
        )


def _index_arrays(index: Any) -> Any:
    """An index with its Tensors and lists turned into ndarrays, so NumPy reads them as arrays."""

    def one(part: Any) -> Any:
        if isinstance(part, Tensor):
            return part._data
        if isinstance(part, list):
            return np.asarray(part)
        return part

    return tuple(one(p) for p in index) if isinstance(index, tuple) else one(index)


def tensor(data: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a tensor; floats default to float32, NumPy arrays keep their dtype; device: "cpu" only."""
    check_device(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)
