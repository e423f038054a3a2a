"""The backward walk: reverse topological order, the op contract's checks, leaf accumulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.autograd import function
from bprop.autograd.versions import _inplace_epoch, check_saved_versions

if TYPE_CHECKING:
    from bprop.autograd.function import Context
    from bprop.tensor import Tensor


def _topological_order(root: Context) -> list[Context]:
    """Nodes reachable from ``root``, each after every node that consumes its output."""
    order: list[Context] = []
    visited: set[int] = set()
    stack: list[tuple[Context, bool]] = [(root, False)]
    while stack:  # iterative DFS: deep nets must not hit Python's recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node.inputs:
            fn = getattr(parent, "grad_fn", None)
            if fn is not None and id(fn) not in visited:
                stack.append((fn, False))
    order.reverse()
    return order


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (∂C/∂root) to every leaf that requires grad."""

    handed: set[int] = {id(grad)}  # arrays already stored somewhere: never store them twice
    owned: set[int] = set()  # arrays a leaf keeps as .grad: later contributions += into them
    hooked_leaves: dict[int, tuple[Tensor, np.ndarray]] = {}  # summed first, hooks run on the total
    if root.grad_fn is None:  # backward() on a leaf: its gradient is grad itself
        _accumulate_leaf(root, grad if root._hooks is None else root._hooks.run(grad), handed, owned)
        return
    if root.grad_fn.freed:
        raise RuntimeError(
            "backward() through a graph that was already freed: a second backward over the "
            "same graph needs retain_graph=True on the first call"
        )
    epoch = _inplace_epoch[0]
    grads: dict[int, np.ndarray] = {id(root.grad_fn): grad}
    for node in _topological_order(root.grad_fn):
        grad_out = grads.pop(id(node), None)
        if grad_out is None:
            continue
        if node.freed:
            raise RuntimeError(
                f"backward() reached {node.name()} whose saved values were freed by an "
                "earlier backward(); pass retain_graph=True to the first call"
            )
        if node.epoch != epoch:  # some tensor changed in place since this node was recorded
            check_saved_versions(node)
        if node.hooks is not None:
            grad_out = node.hooks.run(grad_out)
        backward = node.fn.backward if function._profiler is None else function._profiler.timed(node.fn, "backward")
        input_grads = backward(node, grad_out)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            input_grads = _one_per_input(node, input_grads)
        for parent, g, needed in zip(node.inputs, input_grads, node.needs_input_grad):
            if not needed or g is None:
                continue
            if type(g) is not np.ndarray or g.shape != parent._data.shape or g.dtype.kind != "f":
                g = checked_gradient(node, input_grads, parent, g)
            if parent.grad_fn is None:
                if parent._hooks is None:
                    _accumulate_leaf(parent, g, handed, owned)
                else:
                    _hold_for_hooks(parent, g, hooked_leaves)
                continue
            if id(g) in owned:  # the same array went to a leaf, whose later += must not reach it
                g = g.copy()
            key = id(parent.grad_fn)
            grads[key] = grads[key] + g if key in grads else g
            handed.add(id(grads[key]))
        if not retain_graph:
            node.free()
    _finish_hooked_leaves(hooked_leaves, handed, owned)


class GradSlots(dict):
    """Gradients tagged by slot, merged by ``+`` (a slot's shares summed): how a module's
    inputs hand their gradients to the one node that runs its full backward hooks
    (``bprop.nn.hooks``). Engine machinery: no op returns one."""

    def __add__(self, other: GradSlots) -> GradSlots:
        merged = GradSlots(self)
        for slot, g in other.items():
            merged[slot] = merged[slot] + g if slot in merged else g
        return merged


def _one_per_input(node: Context, input_grads: tuple) -> tuple:
    """torch's rule: one gradient per input; trailing Nones beyond them are allowed and dropped."""
    n = len(node.inputs)
    if len(input_grads) < n or any(g is not None for g in input_grads[n:]):
        raise RuntimeError(
            f"{node.name()} returned {len(input_grads)} gradients for {n} inputs "
            "(backward returns one per input of forward, None where there is none)"
        )
    return input_grads[:n]


def checked_gradient(node: Context, input_grads: tuple, parent: Tensor, g: Any) -> np.ndarray:
    """The op contract's slow path: accept a NumPy scalar of the right shape; raise otherwise."""
    if isinstance(g, GradSlots):
        return g
    if isinstance(g, np.generic) and g.dtype.kind == "f" and parent._data.shape == ():
        return np.asarray(g)
    # found here rather than counted in the hot loop; an op may return one array for two inputs
    index = next(i for i, (h, x) in enumerate(zip(input_grads, node.inputs)) if h is g and x is parent)
    got = f"shape {tuple(g.shape)} and dtype {g.dtype}" if isinstance(g, np.ndarray) else f"a {type(g).__name__}"
    raise RuntimeError(
        f"{node.name()} returned a wrong gradient for input {index}: expected an ndarray of shape "
        f"{tuple(parent._data.shape)} and a floating dtype, got {got}. An op's backward must return "
        "each input's gradient in that input's shape (undo broadcasting with sum_to_shape)."
    )


def _hold_for_hooks(leaf: Tensor, g: np.ndarray, hooked: dict) -> None:
    if id(leaf) in hooked:
        hooked[id(leaf)] = (leaf, hooked[id(leaf)][1] + g)
    else:
        hooked[id(leaf)] = (leaf, g)


def _finish_hooked_leaves(hooked: dict, handed: set[int], owned: set[int]) -> None:
    """A leaf's hooks run once on its total gradient, then it is accumulated (torch's order)."""
    for leaf, g in hooked.values():
        _accumulate_leaf(leaf, leaf._hooks.run(g), handed, owned)


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, handed: set[int], owned: set[int]) -> None:
    """Add g into leaf.grad.

    Optimizers update ``.grad`` in place, so a leaf must own its gradient: an array that was
    already handed to another tensor (``a + a``, a pass-through like Add's), a view, or one of
    another dtype is copied; a fresh array from an op's backward is stored without a copy.
    """
    if not leaf.requires_grad:
        return
    if leaf._grad is not None:
        leaf._grad._data += g
    elif id(g) in handed or g.base is not None or g.dtype != leaf._data.dtype or not g.flags.writeable:
        leaf._grad = leaf._from_op(np.array(g, dtype=leaf._data.dtype, copy=True), None)
    else:
        leaf._grad = leaf._from_op(g, None)
        owned.add(id(g))
    handed.add(id(g))
