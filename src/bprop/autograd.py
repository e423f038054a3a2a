"""The autograd engine: Function, the graph it records, and the backward walk.

An op is a ``Function`` subclass with two static methods working on raw ndarrays::

    forward(ctx, *arrays, **attrs) -> ndarray
    backward(ctx, grad_out)        -> tuple of input gradients (None where not needed)

``Op.apply(*inputs, **attrs)`` unwraps Tensors, runs ``forward`` and, only when grad mode is
on and some input requires grad, records a ``Context`` node on the result. The node is the
result's ``grad_fn``: it remembers the op, its input tensors and whatever ``forward`` saved.

``backward`` walks the nodes in reverse topological order (the chain rule: a node's output
gradient is complete only once every consumer has added its share), accumulates the
gradients of leaves into ``.grad`` and frees each node's saved arrays as soon as it ran.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from bprop.tensor import Tensor


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()

# The active bprop.profiler.profile, if any: apply and run_backward then time each call
# through it; otherwise the hook costs one ``is None`` check per op.
_profiler: Any = None


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class _GradModeSwitch:
    """Sets grad mode for a ``with`` block and restores the previous mode after it; called on a
    function, it decorates it (a fresh switch per call, so recursion and threads are safe)."""

    mode = True

    def __enter__(self) -> None:
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._previous

    def _fresh(self) -> _GradModeSwitch:
        return type(self)()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeSwitch):  # noqa: N801 (torch's name)
    """Disable graph recording: ``with bp.no_grad(): ...`` or ``@bp.no_grad()``."""

    mode = False


class enable_grad(_GradModeSwitch):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeSwitch):  # noqa: N801
    """Set grad mode to ``mode`` as torch does: at once, so that a plain call
    ``bp.set_grad_enabled(False)`` switches it off until switched back; with ``with`` the mode
    from before the call is restored on leaving; as a decorator it switches only inside calls.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        _grad_mode.enabled = self.mode  # _previous was taken by the constructor

    def _fresh(self) -> _GradModeSwitch:
        return set_grad_enabled(self.mode)

    def __call__(self, fn: Callable) -> Callable:
        _grad_mode.enabled = self._previous  # decorating a function switches nothing yet
        return super().__call__(fn)


class Context:
    """One node of the backward graph; also the ``ctx`` an op's forward and backward share.

    Ops store what backward needs either with ``ctx.save_for_backward(*arrays)`` (read back as
    ``ctx.saved``) or as plain attributes. ``ctx.needs_input_grad[i]`` tells backward whether
    input i wants a gradient, so that it can skip work.
    """

    __slots__ = ("__dict__", "fn", "freed", "inputs", "needs_input_grad", "saved")

    def __init__(self, fn: type[Function]):
        self.fn = fn
        self.inputs: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.saved: tuple = ()
        self.freed = False

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved = arrays

    def name(self) -> str:
        return self.fn.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def free(self) -> None:
        """Drop everything backward needed: the graph is single use unless retained."""
        self.saved = ()
        self.inputs = ()
        self.__dict__.clear()
        self.freed = True


class Function:
    """Base class of every op. Subclasses define ``forward`` and ``backward`` as staticmethods.

    Rules that keep the engine fast and correct: backward never modifies ``grad_out`` in place
    (several inputs may share it) and returns either ``grad_out`` itself or arrays it
    allocated, never an array a tensor holds as data. Backward builds no graph.
    """

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        from bprop.tensor import Tensor

        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        ctx = Context(cls)
        forward = cls.forward if _profiler is None else _profiler.timed(cls, "forward")
        if _grad_mode.enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if any(needs):
                ctx.needs_input_grad = needs
                out = forward(ctx, *arrays, **attrs)
                ctx.inputs = inputs
                ctx.attrs = attrs  # so that gradcheck_graph can run this op again alone
                return Tensor._from_op(out, ctx)
        return Tensor._from_op(forward(ctx, *arrays, **attrs), None)


def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo NumPy broadcasting in the backward pass.

    If x of ``shape`` was broadcast to grad.shape in the forward pass, each element of x was
    used once for every position it was copied to, so ∂C/∂x sums grad over those positions:
    over the leading axes broadcasting added and over the axes where x had size 1.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


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
    from bprop.tensor import Tensor

    handed: set[int] = {id(grad)}  # arrays already stored somewhere: never store them twice
    owned: set[int] = set()  # arrays a leaf keeps as .grad: later contributions += into them
    if root.grad_fn is None:
        _accumulate_leaf(root, grad, handed, owned)
        return
    if root.grad_fn.freed:
        raise RuntimeError(
            "backward() through a graph that was already freed: a second backward over the "
            "same graph needs retain_graph=True on the first call"
        )
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
        backward = node.fn.backward if _profiler is None else _profiler.timed(node.fn, "backward")
        input_grads = backward(node, grad_out)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, g, needed in zip(node.inputs, input_grads, node.needs_input_grad):
            if not needed or g is None or not isinstance(parent, Tensor):
                continue
            if parent.grad_fn is None:
                _accumulate_leaf(parent, g, handed, owned)
                continue
            if id(g) in owned:  # the same array went to a leaf, whose later += must not reach it
                g = g.copy()
            key = id(parent.grad_fn)
            grads[key] = grads[key] + g if key in grads else g
            handed.add(id(grads[key]))
        if not retain_graph:
            node.free()


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, handed: set[int], owned: set[int]) -> None:
    """Add g into leaf.grad.

    Optimizers update ``.grad`` in place, so a leaf must own its gradient: an array that was
    already handed to another tensor (``a + a``, a pass-through like Add's), a view, or one of
    another dtype is copied; a fresh array from an op's backward is stored without a copy.
    """
    if not leaf.requires_grad:
        return
    if g.shape != leaf.data.shape:
        g = sum_to_shape(np.asarray(g), leaf.data.shape)
    if leaf.grad is not None:
        leaf.grad += g
    elif id(g) in handed or g.base is not None or g.dtype != leaf.data.dtype or not g.flags.writeable:
        leaf.grad = np.array(g, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad = g
        owned.add(id(g))
    handed.add(id(g))
