"""Ops that move or select elements without changing them: reshape, permute, indexing,
concatenate, stack, pad.

Each forward is a bijection (or an injection) between positions, so each backward just sends
every element of ∂C/∂y back to the position it came from; positions never used get 0, and a
position used several times (repeated integer indices) gets the sum.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bprop.autograd import ArrayFunction, Context, sum_to_shape


class Reshape(ArrayFunction):
    """y = x viewed with another shape.   ∂C/∂x = ∂C/∂y reshaped to x's shape."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view shape {x.shape} ({x.size} elements) as {shape}") from None

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out.reshape(ctx.in_shape),)


class Permute(ArrayFunction):
    """y = x with its axes reordered by ``dims``.   ∂C/∂x = ∂C/∂y with the inverse order."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        if any(not -x.ndim <= d < x.ndim for d in dims) or sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: {dims} is not an ordering of the {x.ndim} axes of shape {x.shape}")
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (np.transpose(grad_out, np.argsort([d % grad_out.ndim for d in ctx.dims])),)


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(ArrayFunction):
    """y = x[index] for slices, integers, integer arrays and boolean masks (slices and integers
    give a view of x's memory, as torch does; arrays and masks a copy).

    ∂C/∂x is zero except at the selected positions, which receive ∂C/∂y; with integer arrays a
    position can be selected more than once, so contributions are summed (np.add.at).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, index: Any) -> np.ndarray:
        ctx.x_shape, ctx.index = x.shape, index
        try:
            out = x[index]
        except IndexError as err:
            raise IndexError(f"index {index!r} into a tensor of shape {x.shape}: {err}") from None
        # basic indexing gives a view sharing x's memory, as in torch and NumPy: `t[i][j] = 1` writes into t
        return out if _is_basic(index) and isinstance(out, np.ndarray) else np.asarray(out)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        index = ctx.index
        full = np.zeros(ctx.x_shape, dtype=grad_out.dtype)
        if _is_basic(index) or (isinstance(index, np.ndarray) and index.dtype == bool):
            full[index] = grad_out
        else:
            np.add.at(full, index, grad_out)
        return (full,)


class Gather(ArrayFunction):
    """y = x gathered along ``dim`` (torch.gather): for dim = 1, y[i, j, k] = x[i, index[i, j, k], k].

    ∂C/∂x is zero except at the gathered positions; a position gathered several times collects
    the sum of its gradients (np.add.at). max(dim) uses it to send the gradient to its index only.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dim: int, index: Any) -> np.ndarray:
        index = np.asarray(index)
        if x.ndim == 0 or index.ndim != x.ndim or index.dtype.kind not in "iu":
            raise ValueError(
                f"gather: index must be an integer array with the {x.ndim} dims of the input "
                f"of shape {x.shape}, got {index.dtype} of shape {index.shape}"
            )
        if not -x.ndim <= dim < x.ndim:
            raise IndexError(f"gather: dim {dim} is out of range for shape {x.shape}")
        dim %= x.ndim
        others = [d for d in range(x.ndim) if d != dim]
        if any(index.shape[d] > x.shape[d] for d in others):
            raise ValueError(
                f"gather: index of shape {index.shape} is larger than the input {x.shape} outside dim {dim}"
            )
        ctx.x_shape, ctx.dim, ctx.index = x.shape, dim, index
        ctx.whole = all(index.shape[d] == x.shape[d] for d in others)  # index spans x outside dim
        block = x[tuple(slice(None) if d == dim else slice(n) for d, n in enumerate(index.shape))]
        return np.take_along_axis(block, index, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        dim, index = ctx.dim, ctx.index
        full = np.zeros(ctx.x_shape, dtype=grad_out.dtype)
        if ctx.whole and index.shape[dim] == 1:  # one pick per line (max along dim): nothing to add up
            np.put_along_axis(full, index, grad_out, axis=dim)
        else:
            grid = list(np.ogrid[tuple(slice(n) for n in index.shape)])
            grid[dim] = index
            np.add.at(full, tuple(grid), grad_out)
        return (full,)


class Concatenate(ArrayFunction):
    """y = [x₁, x₂, …] joined along ``dim``.   ∂C/∂x_k = the slice of ∂C/∂y that x_k filled."""

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, *xs: np.ndarray, dim: int = 0) -> np.ndarray:
        try:
            out = np.concatenate(xs, axis=dim)
        except (ValueError, np.exceptions.AxisError) as err:
            raise ValueError(f"concatenate along dim {dim}: shapes {[x.shape for x in xs]}: {err}") from None
        ctx.dim, ctx.cuts = dim, np.cumsum([x.shape[dim] for x in xs])[:-1]
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return tuple(np.split(grad_out, ctx.cuts, axis=ctx.dim))


class Stack(ArrayFunction):
    """y = the x_k stacked along a new axis ``dim``.   ∂C/∂x_k = ∂C/∂y[…, k, …] along that axis."""

    promotion = "elementwise"

    @staticmethod
    def forward(ctx: Context, *xs: np.ndarray, dim: int = 0) -> np.ndarray:
        shapes = {x.shape for x in xs}
        if len(shapes) != 1:
            raise ValueError(f"stack needs tensors of one shape, got {[x.shape for x in xs]}")
        out = np.stack(xs, axis=dim)
        ctx.dim = dim % out.ndim
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        moved = np.moveaxis(grad_out, ctx.dim, 0)
        return tuple(moved[k, ...] for k in range(len(moved)))  # [k, ...]: arrays even from 1-D (not scalars)


class Pad(ArrayFunction):
    """y = x with constant borders; ``pad`` as torch: (left, right) of the last dim, then of
    the one before, … .   ∂C/∂x = the interior of ∂C/∂y (border positions depend on no x)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, pad: Sequence[int], value: float = 0.0) -> np.ndarray:
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(f"pad: {tuple(pad)} must hold (before, after) pairs for at most {x.ndim} dims")
        if min(pad, default=0) < 0:
            raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        ctx.interior = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (grad_out[ctx.interior],)


PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # torch's name → NumPy's


def border_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Which input position each of the before + n + after padded positions copies:
    reflect mirrors without repeating the edge (… 2 1 | 0 1 2 … n−1 | n−2 …), replicate repeats
    the edge (0 0 | 0 1 …), circular wraps around (n−1 | 0 1 … n−1 | 0). torch's limits: reflect
    needs before, after < n; circular ≤ n."""
    limit = n if mode == "circular" else n - 1
    if mode != "replicate" and max(before, after) > limit:
        raise ValueError(f"pad: {mode} padding ({before}, {after}) must be at most {limit} for a dim of size {n}")
    if n == 0 and before + after:
        raise ValueError(f"pad: {mode} padding of an empty dim has nothing to copy")
    return np.pad(np.arange(n), (before, after), mode=PAD_MODES[mode])


class PadFromInput(ArrayFunction):
    """Padding whose borders copy input values (torch's pad modes 'reflect', 'replicate',
    'circular'); ``pad`` as torch: (left, right) of the last dim, then of the one before, … .

    Each padded dim d reads x at an index map i_d(j) (border_index), so y = x[i_1(j_1), …] is a
    gather and ∂C/∂x[k] = Σ_{j: i(j) = k} ∂C/∂y[j]: each border position sends its gradient back
    to the input element it copied (an edge element collects from several). Backward undoes
    the dims one at a time, a scatter-add along each.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, pad: Sequence[int], mode: str = "reflect") -> np.ndarray:
        if mode not in PAD_MODES:
            raise ValueError(f"pad: mode must be 'constant' or one of {tuple(PAD_MODES)}, got {mode!r}")
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(f"pad: {tuple(pad)} must hold (before, after) pairs for at most {x.ndim} dims")
        if min(pad, default=0) < 0:
            raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
        ctx.maps = []
        out = x
        for i in range(len(pad) // 2):
            axis = x.ndim - 1 - i
            index = border_index(x.shape[axis], pad[2 * i], pad[2 * i + 1], mode)
            ctx.maps.append((axis, index, x.shape[axis]))
            out = np.take(out, index, axis=axis)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        g = grad_out
        for axis, index, n in reversed(ctx.maps):
            moved = np.moveaxis(g, axis, 0)
            summed = np.zeros((n, *moved.shape[1:]), g.dtype)
            np.add.at(summed, index, moved)
            g = np.moveaxis(summed, 0, axis)
        return (g,)


class Expand(ArrayFunction):
    """y = x broadcast to ``shape`` (torch's expand: new leading dims, size-1 dims stretched).

    Each x element is copied to every position it is broadcast to, so ∂C/∂x sums ∂C/∂y over
    those positions (``sum_to_shape``)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dims {tuple(shape)}")
        target = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        try:
            out = np.broadcast_to(x, target)
        except ValueError:
            raise ValueError(
                f"expand: shape {x.shape} does not expand to {tuple(shape)} (only size-1 dims can grow)"
            ) from None
        ctx.x_shape = x.shape
        return out.copy()  # a fresh array: in-place writes to y must not reach x

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        return (sum_to_shape(grad_out, ctx.x_shape),)


class Scatter(ArrayFunction):
    """y = x with src's values written at ``index`` along ``dim`` (torch.scatter): for dim = 1,
    y[i, index[i, j, k], k] = src[i, j, k], every other position keeps x.

    ∂C/∂x is ∂C/∂y with the written positions zeroed (their x values were overwritten);
    ∂C/∂src[i, j, k] = ∂C/∂y[i, index[i, j, k], k] (a gather). Where an index repeats, the last
    write wins and only that src element gets the gradient, as NumPy's and torch's CPU order.
    """

    promotion = "identical"  # self and src: one dtype, as torch

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, src: np.ndarray, dim: int, index: Any) -> np.ndarray:
        index = np.asarray(index)
        if index.ndim != x.ndim or index.dtype.kind not in "iu" or np.shape(src) != index.shape:
            raise ValueError(
                f"scatter: index must be an integer array with the {x.ndim} dims of the input {x.shape} "
                f"and src the index's shape; got index {index.dtype} {index.shape}, src {np.shape(src)}"
            )
        if not -x.ndim <= dim < x.ndim:
            raise IndexError(f"scatter: dim {dim} is out of range for shape {x.shape}")
        dim %= x.ndim
        grid = list(np.ogrid[tuple(slice(n) for n in index.shape)])
        grid[dim] = index
        ctx.where = tuple(grid)
        out = x.copy()
        out[ctx.where] = src
        written = np.full(x.shape, -1, dtype=np.intp)
        written[ctx.where] = np.arange(index.size).reshape(index.shape)  # which src element won
        ctx.won = (written[ctx.where] == np.arange(index.size).reshape(index.shape)) if index.size else None
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = grad_out.copy()
            gx[ctx.where] = 0
        if ctx.needs_input_grad[1]:
            gsrc = grad_out[ctx.where]
            if ctx.won is not None:
                gsrc = np.where(ctx.won, gsrc, 0).astype(grad_out.dtype)
        return gx, gsrc
