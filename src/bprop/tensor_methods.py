"""The Tensor methods torch scripts reach for beyond the core arithmetic: devices, dtype
shortcuts, comparisons by name, matrix products, views and copies, sorting, masks, splitting,
scattering. They live here, apart from tensor.py's core, as the ``TorchMethods`` mixin, so the
core stays short; each differentiable one calls an op from ``bprop.ops`` (no gradient math here).
"""

from __future__ import annotations

import itertools
import math
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from bprop.devices import CPU, check_device, device, is_device
from bprop.ops import elementwise, linalg, shape

if TYPE_CHECKING:
    from bprop.tensor import Tensor

SortResult = namedtuple("SortResult", ["values", "indices"])


def _array(value: Any) -> Any:
    return np.asarray(value) if hasattr(value, "__array__") and not isinstance(value, np.ndarray) else value


def _sizes(sizes: tuple) -> tuple[int, ...]:
    """torch's ``f(2, 3)`` or ``f((2, 3))`` or ``f(torch.Size)`` spelling of a shape."""
    return tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)) else tuple(sizes)


def to_arguments(*args: Any, dtype: Any = None, device: Any = None, **flags: Any) -> Any:
    """The dtype asked for by torch's ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
    ``to(other)`` or keywords (None: keep it); a device other than the CPU is refused."""
    unknown = set(flags) - {"non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"Tensor.to() got unexpected keyword arguments {sorted(unknown)}")
    for arg in args:
        if is_device(arg):
            device = arg
        elif hasattr(arg, "dtype") and not isinstance(arg, (type, np.dtype)):  # to(other): the dtype of other
            dtype = arg.dtype
        else:
            dtype = arg
    check_device(device)
    return dtype


class TorchMethods:
    """Mixed into Tensor: the methods of torch.Tensor that tutorials use, on bprop's ops."""

    __slots__ = ()

    # ----- device: the CPU is the only one -------------------------------------------------
    @property
    def device(self) -> device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        check_device("cuda")
        raise AssertionError("unreachable: check_device refuses cuda")

    def _to_arguments(self, *args: Any, **kwargs: Any) -> Any:
        return to_arguments(*args, **kwargs)

    # ----- dtypes --------------------------------------------------------------------------
    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def half(self) -> Tensor:
        raise TypeError("Tensor.half(): float16 is not supported; bprop computes in float32 and float64")

    def type(self, dtype: Any) -> Tensor:
        """torch's ``x.type(torch.float)``: the same as ``x.to(dtype)``."""
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def element_size(self) -> int:
        return np.dtype(self.dtype).itemsize

    def __index__(self) -> int:
        array = np.asarray(self)
        if array.size != 1 or array.dtype.kind not in "iub":
            raise TypeError(
                f"only integer tensors of one element can be used as an index, got {array.dtype} {array.shape}"
            )
        return int(array.item())

    def __format__(self, spec: str) -> str:
        array = np.asarray(self)
        if array.ndim == 0 or (spec and array.size == 1):
            return format(array.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a tensor of shape {array.shape} (use .item())")
        return str(self)

    # ----- comparisons and arithmetic by name --------------------------------------------------
    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    def equal(self, other: Any) -> bool:
        return bool(np.array_equal(np.asarray(self), np.asarray(other)))

    def add(self, other: Any, alpha: float = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def neg(self) -> Tensor:
        return -self

    def square(self) -> Tensor:
        return self * self

    def sin(self) -> Tensor:
        return elementwise.Sin.apply(self)

    def cos(self) -> Tensor:
        return elementwise.Cos.apply(self)

    # ----- matrix products -------------------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def mm(self, other: Tensor) -> Tensor:
        if self.ndim != 2 or np.ndim(other) != 2:
            raise ValueError(f"mm: both operands must be matrices, got shapes {self.shape} and {np.shape(other)}")
        return linalg.MatMul.apply(self, other)

    def bmm(self, other: Tensor) -> Tensor:
        if self.ndim != 3 or np.ndim(other) != 3 or self.shape[0] != np.shape(other)[0]:
            raise ValueError(f"bmm: needs two 3-d tensors with one batch size, got {self.shape} and {np.shape(other)}")
        return linalg.MatMul.apply(self, other)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor of at most 2 dims, got shape {self.shape}")
        return self.T if self.ndim == 2 else self

    # ----- views and copies ------------------------------------------------------------------
    def view_as(self, other: Any) -> Tensor:
        return self.reshape(np.shape(other))

    def reshape_as(self, other: Any) -> Tensor:
        return self.reshape(np.shape(other))

    def expand(self, *sizes: Any) -> Tensor:
        return shape.Expand.apply(self, shape=_sizes(sizes))

    def expand_as(self, other: Any) -> Tensor:
        return shape.Expand.apply(self, shape=tuple(np.shape(other)))

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor ``sizes[d]`` times along each dim d: an expand between reshapes."""
        reps = _sizes(sizes)
        if len(reps) < self.ndim:
            raise ValueError(f"repeat: {len(reps)} repeat counts for a tensor of {self.ndim} dims")
        dims = (1,) * (len(reps) - self.ndim) + tuple(self.shape)
        spread = self.reshape(tuple(x for n in dims for x in (1, n)))
        tiled = spread.expand(tuple(x for r, n in zip(reps, dims) for x in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(reps, dims)))

    def clone(self) -> Tensor:
        return shape.Expand.apply(self, shape=tuple(self.shape))

    def contiguous(self) -> Tensor:
        return self

    def new_zeros(self, *sizes: Any, dtype: Any = None) -> Tensor:
        return self._from_op(np.zeros(_sizes(sizes), dtype=dtype or self.dtype), None)

    def new_ones(self, *sizes: Any, dtype: Any = None) -> Tensor:
        return self._from_op(np.ones(_sizes(sizes), dtype=dtype or self.dtype), None)

    def new_full(self, size: Sequence[int], fill_value: float, dtype: Any = None) -> Tensor:
        return self._from_op(np.full(tuple(size), fill_value, dtype=dtype or self.dtype), None)

    # ----- masks, triangles, scatter -------------------------------------------------------------
    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """value where mask is True, self elsewhere (a where: the filled positions get no gradient)."""
        fill = np.array(_array(value), dtype=self.dtype)
        return elementwise.Where.apply(np.asarray(_array(mask), dtype=bool), fill, self)

    def tril(self, diagonal: int = 0) -> Tensor:
        return self._triangle(np.tri(*self.shape[-2:], k=diagonal, dtype=bool))

    def triu(self, diagonal: int = 0) -> Tensor:
        return self._triangle(~np.tri(*self.shape[-2:], k=diagonal - 1, dtype=bool))

    def _triangle(self, keep: np.ndarray) -> Tensor:
        if self.ndim < 2:
            raise ValueError(f"tril/triu need at least 2 dims, got shape {self.shape}")
        return elementwise.Where.apply(keep, self, np.zeros((), dtype=self.dtype))

    def scatter(self, dim: int, index: Any, src: Any) -> Tensor:
        """torch.scatter: a copy with ``src`` written at ``index`` along ``dim`` (src may be a number)."""
        index = np.asarray(_array(index))
        if not hasattr(src, "shape") or np.ndim(src) == 0:
            src = np.full(index.shape, _array(src), dtype=self.dtype)
        return shape.Scatter.apply(self, src, dim=dim, index=index)

    def index_select(self, dim: int, index: Any) -> Tensor:
        where = [slice(None)] * self.ndim
        where[dim] = np.asarray(_array(index), dtype=np.int64)
        return self[tuple(where)]

    # ----- sorting -------------------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
        """(values, indices) sorted along dim; the values are a gather, so the gradient of each
        goes back to the position it came from."""
        array = np.asarray(self)
        order = np.argsort(-array if descending else array, axis=dim, kind="stable")
        return SortResult(shape.Gather.apply(self, dim=dim, index=order), self._from_op(order, None))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return self.sort(dim, descending, stable).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> SortResult:
        """The k largest (or smallest) values along dim and their indices, largest first."""
        array = np.asarray(self)
        if not 0 <= k <= array.shape[dim]:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of shape {array.shape}")
        order = np.argsort(-array if largest else array, axis=dim, kind="stable")
        index = np.take(order, np.arange(k), axis=dim)
        return SortResult(shape.Gather.apply(self, dim=dim, index=index), self._from_op(index, None))

    # ----- splitting -------------------------------------------------------------------------
    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = max(int(split_size_or_sections), 1)
            sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of dim {dim}")
        bounds = np.cumsum([0, *sizes])
        where = [slice(None)] * self.ndim
        pieces = []
        for lo, hi in itertools.pairwise(bounds):
            where[dim] = slice(int(lo), int(hi))
            pieces.append(self[tuple(where)])
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return self.split(math.ceil(self.shape[dim] / chunks) if self.shape[dim] else 1, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return tuple(piece.squeeze(dim) for piece in self.split(1, dim))
