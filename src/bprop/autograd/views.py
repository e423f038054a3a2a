"""In-place changes through a view, carried into its base's graph (torch's CopySlices).

``v = h.reshape(-1); v *= 3`` changes h's values, so h's graph must change too: the edit is
recorded as ``h' = CopySlices(h, v')``, h's old values with the region v views replaced by the
new values v' = 3·v, and h (and every other view of it, lazily: ``versions.refresh``) moves
onto that node. Gradients then flow as in torch: ∂C/∂h_old is ∂C/∂h' outside the region and 0
inside it; ∂C/∂v' is ∂C/∂h' read through the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bprop.autograd.function import ArrayFunction, Context
from bprop.autograd.versions import bump_version, refresh

if TYPE_CHECKING:
    from bprop.tensor import Tensor


class CopySlices(ArrayFunction):
    """y = x with y.flat[p] = v (p: the flat positions in x of the view's elements).

    ∂C/∂x = ∂C/∂y with the positions p zeroed (those values were overwritten);
    ∂C/∂v = (∂C/∂y).flat[p], in the view's shape.
    """

    promotion = "own"  # v keeps its dtype in the graph; its values are written in x's dtype

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, value: np.ndarray, positions: np.ndarray) -> np.ndarray:
        out = x.copy()
        out.reshape(-1)[positions.reshape(-1)] = value.reshape(-1)
        ctx.positions, ctx.value_shape = positions, value.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        flat = np.ascontiguousarray(grad_out).reshape(-1)
        positions = ctx.positions.reshape(-1)
        g_value = flat[positions].reshape(ctx.value_shape) if ctx.needs_input_grad[1] else None
        g_x = None
        if ctx.needs_input_grad[0]:
            g_x = flat.copy()
            g_x[positions] = 0
            g_x = g_x.reshape(grad_out.shape)
        return g_x, g_value, None


def flat_positions(view: Tensor) -> np.ndarray:
    """Each element of the view's flat position in its base: the view's chain of ops run on
    the base's positions (0, 1, 2, …) instead of its values."""
    info = view._view
    positions = np.arange(info.base._data.size).reshape(info.base._data.shape)
    for op, attrs in info.chain:
        positions = op.forward(Context(op), positions, **attrs)
    return np.asarray(positions)


def write_through(view: Tensor, result: Tensor) -> None:
    """Carry an in-place change of ``view`` (its new values as the graph node ``result``) into
    its base: the base moves onto a CopySlices node, and the view onto the view of it."""
    base = view._view.base
    new_base = CopySlices.apply(base._before_change(), result, positions=flat_positions(view))
    np.copyto(base._data, new_base._data, casting="same_kind")  # the view's memory is the base's
    base.grad_fn = new_base.grad_fn
    base.requires_grad = True
    bump_version(base._version_counter)
    refresh(view)
