"""``gradcheck_graph``: check every op of a recorded graph on its own, and name the faulty one.

``bp.gradcheck`` says whether a whole function's gradient is right; when it is not, nothing
says where. Here each node of the graph that produced ``output`` is checked locally, before
backward: its op runs again alone, in float64, on copies of the very inputs it saw, with the
same attributes (and the same random state, so dropout draws the same mask). With a random
upstream gradient g, the op's hand-derived backward gives gᵀ·∂y/∂x; centred differences of
Σ g·forward(x) give the same numbers numerically, at every entry of small inputs and at a
random sample of large ones. The table lists each op with its shapes and largest relative
error; ``first_bad`` is the first op (in forward order) whose backward disagrees.

A kink — an input within ε of a point where the op has no derivative (ReLU or abs at 0, a
tie of a max) — makes the two one-sided slopes differ. Such entries are counted in the "kink"
column and left out of the comparison: there is no derivative there to be wrong about.

The module is ``graph_check``, not ``gradcheck_graph``: ``bp.gradcheck_graph`` is the function, and
a package attribute of the same name would shadow the module (``import bprop.gradcheck_graph as m``
would give the function), as ``gradient_check`` is named for ``bp.gradcheck``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop.autograd import Context, _topological_order
from bprop.random import get_rng_state, set_rng_state
from bprop.tensor import Tensor

TOLERANCE = 1e-5  # largest relative error of a sound op in float64 with ε = 1e-6


def is_kink(right: float, left: float) -> bool:
    """True when the one-sided slopes (f(x + ε) − f(x))/ε and (f(x) − f(x − ε))/ε disagree by
    more than a smooth function's curvature can explain (about ε·f″ ≈ 1e-6): x sits within ε
    of a point without derivative."""
    return abs(right - left) > 1e-4 * (abs(right) + abs(left)) + 2e-6


@dataclass
class OpCheck:
    """One node: its op, input and output shapes, the largest relative error over the inputs
    checked, how many checked entries sat on a kink, and whether the backward agrees."""

    index: int
    op: str
    input_shapes: list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    max_rel_error: float
    kinks: int
    entries: int

    @property
    def ok(self) -> bool:
        return self.max_rel_error <= TOLERANCE


@dataclass
class GraphCheck:
    rows: list[OpCheck]

    @property
    def first_bad(self) -> OpCheck | None:
        """The first op, in forward order, whose backward disagrees with finite differences."""
        return next((row for row in self.rows if not row.ok), None)

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def table(self) -> str:
        shapes = [" ".join(_shape(s) for s in row.input_shapes) + " → " + _shape(row.output_shape) for row in self.rows]
        width_op = max([2, *(len(row.op) for row in self.rows)])
        width_shape = max([6, *(len(s) for s in shapes)])
        lines = [f"{'#':>3}  {'op':<{width_op}}  {'shapes':<{width_shape}}  {'max rel. error':>14}  kink  verdict"]
        for row, shape in zip(self.rows, shapes):
            verdict = "ok" if row.ok else "WRONG BACKWARD"
            kink = f"{row.kinks:>4}" if row.kinks else "   -"
            lines.append(
                f"{row.index:>3}  {row.op:<{width_op}}  {shape:<{width_shape}}  {row.max_rel_error:>14.2e}  {kink}  "
                f"{verdict}"
            )
        bad = self.first_bad
        lines.append(
            "every op's backward agrees with finite differences"
            if bad is None
            else f"first wrong backward: op {bad.index} ({bad.op}), relative error {bad.max_rel_error:.2e}"
        )
        if any(row.kinks for row in self.rows):
            lines.append(
                "kink: entries within ε of a point without derivative (ReLU or abs at 0, a tie of a max); not compared"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import graph_check_html

        return graph_check_html(self)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


def _as_float64(value: Any) -> Any:
    array = value._data if isinstance(value, Tensor) else value
    if isinstance(array, np.ndarray) and array.dtype.kind == "f":
        return array.astype(np.float64)  # a copy: the op may write into it (running statistics)
    return array


class _Op:
    """One node's op, runnable alone on float64 copies of its inputs with its attributes."""

    def __init__(self, node: Context):
        self.fn, self.attrs = node.fn, node.attrs
        self.arrays = [_as_float64(x) for x in node.inputs]
        self.needs = node.needs_input_grad
        self.state = get_rng_state()  # a random op (dropout) draws the same values every run

    def forward(self, arrays: list[Any]) -> tuple[np.ndarray, Context]:
        ctx = getattr(self.fn, "context_type", Context)(self.fn)  # a user's Function has its own ctx
        ctx.needs_input_grad = self.needs
        after = get_rng_state()
        set_rng_state(self.state)
        try:
            out = np.asarray(
                self.fn.forward(ctx, *[a.copy() if isinstance(a, np.ndarray) else a for a in arrays], **self.attrs)
            )
        finally:
            set_rng_state(after)
        return out, ctx


def _check_node(index: int, node: Context, rng: np.random.Generator, entries: int, eps: float) -> OpCheck:
    op = _Op(node)
    out, ctx = op.forward(op.arrays)
    upstream = rng.standard_normal(out.shape)
    grads = node.fn.backward(ctx, upstream.astype(out.dtype))
    grads = grads if isinstance(grads, tuple) else (grads,)
    worst, kinks, counted = 0.0, 0, 0
    for i, (array, needed) in enumerate(zip(op.arrays, op.needs)):
        if not needed or not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            continue
        analytic = np.zeros(array.shape) if i >= len(grads) or grads[i] is None else np.asarray(grads[i])
        size = array.size
        picks = range(size) if size <= entries else rng.choice(size, entries, replace=False)
        centre = float((upstream * op.forward(op.arrays)[0]).sum())
        numeric, compared = [], []
        for flat in picks:
            idx = np.unravel_index(int(flat), array.shape)
            values = []
            for sign in (1, -1):
                nudged = list(op.arrays)
                nudged[i] = array.copy()
                nudged[i][idx] += sign * eps
                values.append(float((upstream * op.forward(nudged)[0]).sum()))
            right, left = (values[0] - centre) / eps, (centre - values[1]) / eps
            counted += 1
            if is_kink(right, left):
                kinks += 1
                continue
            numeric.append((values[0] - values[1]) / (2 * eps))
            compared.append(float(analytic[idx]))
        if numeric:
            n, a = np.array(numeric), np.array(compared)
            worst = max(worst, float(np.abs(a - n).max() / max(np.abs(n).max(), np.abs(a).max(), 1e-3)))
    shapes = [tuple(np.shape(_as_float64(x))) for x in node.inputs if isinstance(x, Tensor)]
    return OpCheck(index, node.fn.__name__, shapes, tuple(out.shape), worst, kinks, counted)


def gradcheck_graph(output: Tensor, entries: int = 16, eps: float = 1e-6, seed: int = 0) -> GraphCheck:
    """Check each op of the graph that produced ``output`` against finite differences of that
    op alone (call it before ``backward()``, which frees the graph). ``entries`` bounds the
    finite differences per input; ``seed`` fixes the upstream gradients and the sample."""
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck_graph: expected the Tensor a graph produced, got {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError("gradcheck_graph: this tensor has no graph (a leaf, or computed without grad)")
    nodes = list(reversed(_topological_order(output.grad_fn)))  # forward order
    if any(node.freed for node in nodes):
        raise ValueError(
            "gradcheck_graph: the graph was freed by backward(); call gradcheck_graph before "
            "backward() or run backward(retain_graph=True)"
        )
    rng = np.random.default_rng(seed)
    return GraphCheck([_check_node(i + 1, node, rng, entries, eps) for i, node in enumerate(nodes)])
