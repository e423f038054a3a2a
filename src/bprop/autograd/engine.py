"""The backward walk: reverse topological order, the op contract's checks, leaf accumulation;
and torch's forms of it, ``grad(outputs, inputs, …)`` and ``backward(tensors, grad_tensors, …)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.autograd import function
from bprop.autograd.versions import _inplace_epoch, check_saved_versions

if TYPE_CHECKING:
    from bprop.autograd.function import Context
    from bprop.tensor import Tensor


def _topological_order(roots: Context | list[Context]) -> list[Context]:
    """Nodes reachable from ``roots`` (one node or several), each after every node that consumes
    its output."""
    order: list[Context] = []
    visited: set[int] = set()
    stack = [(root, False) for root in (roots if isinstance(roots, list) else [roots])]
    while stack:  # iterative DFS: deep nets must not hit Python's recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for fn in node.edges:
            if fn is not None and id(fn) not in visited:
                stack.append((fn, False))
    order.reverse()
    return order


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (∂C/∂root) to every leaf that requires grad."""
    run_backward_from([(root, grad)], retain_graph)


def run_backward_from(
    roots: list[tuple[Tensor, np.ndarray]], retain_graph: bool = False, capture: tuple | None = None
) -> dict[int, np.ndarray]:
    """Propagate each root's gradient through the graph they share (a node's gradient is the
    sum of what every root sends it).

    Without ``capture`` the leaves that require grad accumulate into ``.grad``. With a tuple of
    tensors, nothing is accumulated: the total gradient reaching each of them (after its hooks)
    is returned by id, as ``autograd.grad`` needs."""
    handed: set[int] = {id(g) for _, g in roots}  # arrays already stored somewhere: never store them twice
    owned: set[int] = set()  # arrays a leaf keeps as .grad: later contributions += into them
    hooked_leaves: dict[int, tuple[Tensor, np.ndarray]] = {}  # summed first, hooks run on the total
    captured: dict[int, np.ndarray] = {}
    wanted = None if capture is None else {id(t) for t in capture}
    at_node = {} if capture is None else {id(t.grad_fn): id(t) for t in capture if t.grad_fn is not None}
    grads: dict[int, np.ndarray] = {}
    nodes = []
    for root, grad in roots:
        if root.grad_fn is None:  # backward() on a leaf: its gradient is grad itself
            _reach_leaf(root, grad, wanted, hooked_leaves, captured, handed, owned)
            continue
        if root.grad_fn.freed:
            raise RuntimeError(
                "backward() through a graph that was already freed: a second backward over the "
                "same graph needs retain_graph=True on the first call"
            )
        key = id(root.grad_fn)
        grads[key] = grads[key] + grad if key in grads else grad
        nodes.append(root.grad_fn)
    epoch = _inplace_epoch[0]
    order = _topological_order(nodes)
    masks = None if capture is None else _inputs_on_the_way(order, wanted, at_node)
    for node in order:
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
        if at_node and id(node) in at_node:  # torch captures an intermediate before its hooks
            captured[at_node[id(node)]] = grad_out
        needs = node.needs_input_grad
        if masks is not None:  # autograd.grad: only the paths that lead to what was asked for
            needs = masks.get(id(node))
            if needs is None:
                continue
        if node.hooks is not None:
            grad_out = node.hooks.run(grad_out)
        backward = node.fn.backward if function._profiler is None else function._profiler.timed(node.fn, "backward")
        if masks is None or type(node) is not function.Context:  # torch shows a Function's ctx as recorded
            input_grads = backward(node, grad_out)
        else:
            input_grads = _backward_masked(backward, node, grad_out, needs)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            input_grads = _one_per_input(node, input_grads)
        for parent, edge, g, needed in zip(node.inputs, node.edges, input_grads, needs):
            if not needed or g is None:
                continue
            if type(g) is not np.ndarray or g.shape != parent._data.shape or g.dtype != parent._data.dtype:
                g = checked_gradient(node, input_grads, parent, g)
            if edge is None:
                if parent._hooks is None and wanted is None:
                    _accumulate_leaf(parent, g, handed, owned)
                else:
                    _reach_leaf(parent, g, wanted, hooked_leaves, captured, handed, owned)
                continue
            if id(g) in owned:  # the same array went to a leaf, whose later += must not reach it
                g = g.copy()
            key = id(edge)
            grads[key] = grads[key] + g if key in grads else g
            handed.add(id(grads[key]))
        if not retain_graph:
            node.free()
    _finish_hooked_leaves(hooked_leaves, handed, owned, captured if wanted is not None else None)
    return captured


def _inputs_on_the_way(order: list[Context], wanted: set[int], at_node: dict[int, int]) -> dict[int, tuple]:
    """For ``autograd.grad``: which inputs of each node lead to a tensor that was asked for
    (torch runs only those nodes, and their backward computes only those gradients). Nodes that
    lead nowhere get no entry; ``order`` lists consumers first, so producers are decided first."""
    masks: dict[int, tuple] = {}
    reached = set(at_node)  # nodes whose output is itself asked for
    for node in reversed(order):
        mask = tuple(
            needed and (id(edge) in reached if edge is not None else id(x) in wanted)
            for x, edge, needed in zip(node.inputs, node.edges, node.needs_input_grad)
        )
        if any(mask):
            masks[id(node)] = mask
            reached.add(id(node))
    return masks


def _backward_masked(backward: Any, node: Context, grad_out: Any, needs: tuple) -> Any:
    """Run an op's ``backward`` telling it (through ``needs_input_grad``) which gradients are
    wanted, so that it skips the others (a Linear asked only for ∂C/∂x forms no ∂C/∂W)."""
    recorded, node.needs_input_grad = node.needs_input_grad, needs
    try:
        return backward(node, grad_out)
    finally:
        node.needs_input_grad = recorded


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
    """The op contract's slow path: cast a floating gradient to its input's dtype (an input
    promoted by ``bprop.dtypes`` gets its gradient back in its own dtype, as in torch) and
    accept a NumPy scalar of the right shape; raise otherwise."""
    if isinstance(g, GradSlots):
        return g
    if isinstance(g, np.generic) and parent._data.shape == ():
        g = np.asarray(g)
    if isinstance(g, np.ndarray) and g.dtype.kind == "f" and g.shape == parent._data.shape:
        return g.astype(parent._data.dtype)
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


def _reach_leaf(
    leaf: Tensor, g: np.ndarray, wanted: set | None, hooked: dict, captured: dict, handed: set, owned: set
) -> None:
    """A leaf's share of the gradient: accumulated at once, or held (summed) until its hooks run
    on the total or ``autograd.grad`` takes it; a leaf that ``autograd.grad`` did not ask for gets nothing."""
    if wanted is not None and id(leaf) not in wanted:
        return
    if wanted is None and leaf._hooks is None:
        _accumulate_leaf(leaf, g, handed, owned)
    else:
        _hold_for_hooks(leaf, g, hooked)


def _finish_hooked_leaves(hooked: dict, handed: set[int], owned: set[int], captured: dict | None = None) -> None:
    """A leaf's hooks run once on its total gradient, then it is accumulated (torch's order),
    or, for ``autograd.grad``, captured."""
    for leaf, g in hooked.values():
        if leaf._hooks is not None:
            g = leaf._hooks.run(g)
        if captured is None:
            _accumulate_leaf(leaf, g, handed, owned)
        else:
            captured[id(leaf)] = g


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


def _as_tensors(tensors: Any) -> tuple:
    from bprop.tensor import Tensor

    return (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)


def _roots(outputs: tuple, grad_outputs: Any) -> list[tuple[Tensor, np.ndarray]]:
    """Each output with ∂C/∂output as an array of its shape and dtype (torch's checks)."""
    from bprop.tensor import Tensor

    grads = [None] * len(outputs) if grad_outputs is None else list(_as_tensors(grad_outputs))
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad_tensors has {len(grads)} entries, but there are {len(outputs)} tensors")
    roots = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: element {i} has shape "
                    f"{tuple(out.shape)}; pass its gradient"
                )
            array = np.ones_like(out._data)
        else:
            array = np.array(g._data if isinstance(g, Tensor) else g, dtype=out._data.dtype)
            if array.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(array.shape)} and "
                    f"output[{i}] has a shape of {tuple(out.shape)}"
                )
        roots.append((out, array))
    return roots


def _no_create_graph(create_graph: bool, name: str) -> None:
    if create_graph:
        raise NotImplementedError(
            f"{name}(create_graph=True) is not supported: bprop's backward passes are hand-derived on "
            "arrays and build no graph, so there are no higher-order gradients"
        )


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """torch.autograd.backward: the gradients of ``tensors`` (each with its ``grad_tensors``
    entry, which may be None for a scalar) summed into ``.grad`` of the leaves, or only of
    ``inputs`` when given (leaves or not, as torch)."""
    _no_create_graph(create_graph, "backward")
    roots = _roots(_as_tensors(tensors), grad_tensors)
    if inputs is None:
        run_backward_from(roots, bool(retain_graph))
        return
    inputs = _as_tensors(inputs)
    captured = run_backward_from(roots, bool(retain_graph), capture=inputs)
    for t in inputs:
        g = captured.get(id(t))
        if g is not None:
            if t._grad is None:
                t._grad = t._from_op(np.array(g, dtype=t._data.dtype), None)
            else:
                t._grad._data += g


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple:
    """torch.autograd.grad: ∂(Σ outputs·grad_outputs)/∂input for each input, as new Tensors,
    without touching any ``.grad``. First order only (``create_graph=True`` raises). An input
    the outputs do not depend on raises unless ``allow_unused`` (then None) or
    ``materialize_grads`` (then zeros)."""
    _no_create_graph(create_graph, "grad")
    inputs = _as_tensors(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True")
    captured = run_backward_from(_roots(_as_tensors(outputs), grad_outputs), bool(retain_graph), capture=inputs)
    result = []
    for t in inputs:
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        if g is None and materialize_grads:
            g = np.zeros_like(t._data)
        result.append(None if g is None else t._from_op(np.array(g, dtype=t._data.dtype), None))
    return tuple(result)
