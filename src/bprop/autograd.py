"""The autograd engine: Function, the graph it records, and the backward walk.

An op is a ``Function`` subclass with two static methods working on raw ndarrays::

    forward(ctx, *arrays, **attrs) -> ndarray
    backward(ctx, grad_out)        -> tuple of input gradients (None where not needed)

``Op.apply(*inputs, **attrs)`` unwraps Tensors, runs ``forward`` and, only when grad mode is
on and some input requires grad, records a ``Context`` node on the result. The node is the
result's ``grad_fn``: it remembers the op, its input tensors and what ``forward`` stored on it
as named fields (``ctx.x = x``).

``backward`` walks the nodes in reverse topological order (the chain rule: a node's output
gradient is complete only once every consumer has added its share) and accumulates the
gradients of leaves into ``.grad``.

The op contract, enforced
    After every op's backward the engine checks each returned gradient: one per input, and
    for every input that wants one an ndarray of exactly the input's shape and a floating
    dtype. Anything else raises, naming the op (``MulBackward``), the input index and both
    shapes. Nothing is repaired silently: an op whose input was broadcast sums its gradient
    back to the input's shape itself (``sum_to_shape``).

Version counters (torch's rule against stale saved values)
    Every tensor carries ``_version``, bumped by each in-place change made through bprop:
    ``+= -= *= /=``, ``t[i] = v``, ``add_ sub_ mul_ div_ zero_ fill_ copy_``, optimizer
    steps, ``nn.init``. Tensors sharing memory share the counter, as in torch: ``detach()``
    and every op result that is a NumPy view of its input (``reshape``, ``permute``); indexing
    copies in bprop, so ``t[0:2]`` is a new tensor. A node remembers when it was recorded; its
    backward refuses to run when an array it stored on ctx belongs to an input (or its own
    output) changed in place since then, naming the op, the input and its shape: the gradient
    would be computed from the new values. Only arrays the op kept count, so
    ``y = x + w; x += 1`` is still fine (Add keeps nothing), as in torch; bprop's ops keep
    their inputs whether or not a gradient needs them, so now and then bprop refuses where
    torch, which keeps only what the needed gradients use, would not. A raw write to the
    ndarray (``t.data[...] = v``) bypasses bprop and cannot be tracked.

    In-place changes follow torch's rules: on a leaf that requires grad (or a view of one)
    they are refused outside ``no_grad``; on a non-leaf, or a constant written with a tensor
    that requires grad, they are recorded in the graph (the op runs on a copy of the old
    values, and the result is written into the tensor's memory).

After backward
    Without ``retain_graph`` each node frees what its op stored on ctx once it ran, and lets
    go of the intermediate tensors it consumed, so that memory is what torch would hold. The
    structure stays: ``node.fn``, ``node.name()`` and ``node.inputs`` (leaves as they are,
    intermediate tensors as placeholders of the right shape and dtype whose values are gone,
    NaN), so ``bp.viz.draw_graph`` still draws the whole graph. A second backward over a freed
    node raises.

Hooks
    ``Tensor.register_hook(fn)`` and ``Tensor.retain_grad()`` live on the node that produced a
    tensor (on the tensor itself for leaves) and cost nothing when unused: the walk tests one
    attribute per node. See ``TensorHooks.run`` for the order, which is torch's.
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


class RemovableHandle:
    """What every ``register_*hook`` returns: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class TensorHooks:
    """The gradient hooks of one tensor (on its grad_fn, or on the tensor itself for a leaf):
    ``fns`` in registration order and, for a non-leaf, the retain_grad() target (a weakref)."""

    __slots__ = ("fns", "retained")

    def __init__(self) -> None:
        self.fns: dict[int, Callable] = {}
        self.retained: Any = None

    def add(self, fn: Callable) -> RemovableHandle:
        handle = RemovableHandle(self.fns)
        self.fns[handle.id] = fn
        return handle

    def run(self, grad: np.ndarray) -> np.ndarray:
        """torch's order: hooks in registration order, each seeing the previous one's result (a
        hook returning None keeps the gradient); retain_grad stores the final gradient last.

        Hooks get a read-only view: several tensors may share one gradient array, so a hook
        must return a new array instead of writing into the one it got."""
        for fn in list(self.fns.values()):
            view = grad.view()
            view.flags.writeable = False
            new = fn(view)
            if new is not None:
                grad = _hook_result(fn, new, grad)
        tensor = self.retained() if self.retained is not None else None
        if tensor is not None:
            tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad
        return grad


def _hook_result(fn: Callable, new: Any, grad: np.ndarray) -> np.ndarray:
    new = np.asarray(getattr(new, "data", new))  # a Tensor is accepted as well as an ndarray
    if new.shape != grad.shape:
        name = getattr(fn, "__qualname__", repr(fn))
        raise RuntimeError(f"hook {name} returned a gradient of shape {new.shape}, the tensor's is {grad.shape}")
    return new.astype(grad.dtype, copy=False)


class Context:
    """One node of the backward graph; also the ``ctx`` an op's forward and backward share.

    Ops store what backward needs as named attributes (``ctx.x = x``). ``ctx.needs_input_grad[i]``
    tells backward whether input i wants a gradient, so that it can skip work. The engine's own
    fields are slots: ``epoch`` (the in-place count when the node was recorded), the output's
    version counter and array (to detect stale saved values), and ``hooks`` (the output
    tensor's ``TensorHooks``, None unless a hook or retain_grad was registered).
    """

    __slots__ = (
        "__dict__",
        "epoch",
        "fn",
        "freed",
        "hooks",
        "inputs",
        "needs_input_grad",
        "output_array",
        "output_counter",
    )

    def __init__(self, fn: type[Function]):
        self.fn = fn
        self.inputs: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.freed = False
        self.hooks: TensorHooks | None = None

    def name(self) -> str:
        return self.fn.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def free(self) -> None:
        """Drop what backward needed but keep the structure (op and inputs) for drawing.

        Intermediate tensors among the inputs become placeholders of their shape and dtype
        (values NaN, no memory) so the graph holds no activations; leaves stay as they are;
        constant arrays go (None)."""
        self.__dict__.clear()
        self.output_array = None
        self.freed = True
        inputs = []
        for x in self.inputs:
            producer = getattr(x, "grad_fn", _NOT_A_TENSOR)
            if producer is None:
                inputs.append(x)
            elif producer is _NOT_A_TENSOR:
                inputs.append(None)
            else:
                inputs.append(_placeholder(x, producer))
        self.inputs = tuple(inputs)


_NOT_A_TENSOR = object()
_NO_VALUES: dict[tuple, np.ndarray] = {}  # (shape, dtype) -> read-only NaN array of stride 0


def _placeholder(t: Tensor, producer: Context) -> Tensor:
    """A stand-in for a freed intermediate tensor: same shape, dtype and grad_fn, no values."""
    data = t.data
    key = (data.shape, data.dtype.char)
    array = _NO_VALUES.get(key)
    if array is None:
        if len(_NO_VALUES) > 4096:  # shapes vary without end in some programs: stay small
            _NO_VALUES.clear()
        array = _NO_VALUES[key] = np.broadcast_to(np.array(np.nan, dtype=data.dtype), data.shape)
    stand_in = object.__new__(type(t))
    stand_in.data, stand_in.grad, stand_in.grad_fn, stand_in.requires_grad = array, None, producer, True
    stand_in._version_counter, stand_in._hooks = _FREED_COUNTER, None
    return stand_in


_FREED_COUNTER = [0, 0]  # placeholders are never changed in place


# The number of tracked in-place changes so far. A tensor's version counter is a list
# [version, epoch of its last change], shared by views; a node is stale when an input's last
# change is later than the node's epoch: one comparison per node in the common case.
_inplace_epoch = [0]


def bump_version(counter: list) -> None:
    """Record an in-place change of the tensor owning ``counter`` (all views share it)."""
    _inplace_epoch[0] += 1
    counter[0] += 1
    counter[1] = _inplace_epoch[0]


class Function:
    """Base class of every op. Subclasses define ``forward`` and ``backward`` as staticmethods.

    Rules that keep the engine fast and correct: backward never modifies ``grad_out`` in place
    (several inputs may share it) and returns either ``grad_out`` itself or arrays it
    allocated, never an array a tensor holds as data. Each gradient has its input's shape
    and a floating dtype (the engine checks). Backward builds no graph.
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
                ctx.epoch = _inplace_epoch[0]
                out = forward(ctx, *arrays, **attrs)
                ctx.inputs = inputs
                ctx.attrs = attrs  # so that gradcheck_graph can run this op again alone
                result = Tensor._from_op(out, ctx)
                if result.data.base is not None:
                    share_version_counter(result, inputs)
                ctx.output_counter = result._version_counter
                ctx.output_array = result.data
                return result
        result = Tensor._from_op(forward(ctx, *arrays, **attrs), None)
        if result.data.base is not None:
            share_version_counter(result, inputs)
        return result


def share_version_counter(view: Tensor, inputs: tuple) -> None:
    """Give ``view`` the version counter of the input whose memory it views (torch's rule: an
    in-place change through a view is a change of its base, and the reverse)."""
    base = view.data.base
    for x in inputs:
        data = getattr(x, "data", None)
        if isinstance(data, np.ndarray) and (data is base or data.base is base):
            counter = view._version_counter = x._version_counter
            if x.grad_fn is None and x.requires_grad and len(counter) == 2:
                counter.append(True)  # marks the memory of a leaf that requires grad (see Tensor._tracks_in_place)
            return


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
        backward = node.fn.backward if _profiler is None else _profiler.timed(node.fn, "backward")
        input_grads = backward(node, grad_out)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            input_grads = _one_per_input(node, input_grads)
        for parent, g, needed in zip(node.inputs, input_grads, node.needs_input_grad):
            if not needed or g is None:
                continue
            if type(g) is not np.ndarray or g.shape != parent.data.shape or g.dtype.kind != "f":
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
    if isinstance(g, np.generic) and g.dtype.kind == "f" and parent.data.shape == ():
        return np.asarray(g)
    # found here rather than counted in the hot loop; an op may return one array for two inputs
    index = next(i for i, (h, x) in enumerate(zip(input_grads, node.inputs)) if h is g and x is parent)
    got = f"shape {tuple(g.shape)} and dtype {g.dtype}" if isinstance(g, np.ndarray) else f"a {type(g).__name__}"
    raise RuntimeError(
        f"{node.name()} returned a wrong gradient for input {index}: expected an ndarray of shape "
        f"{tuple(parent.data.shape)} and a floating dtype, got {got}. An op's backward must return "
        "each input's gradient in that input's shape (undo broadcasting with sum_to_shape)."
    )


def check_saved_versions(node: Context) -> None:
    """Raise when an array the op kept on ctx belongs to a tensor changed in place since the
    node was recorded (its input i, or its own output)."""
    kept = [v for v in node.__dict__.values() if isinstance(v, np.ndarray)]
    if not kept:
        return
    for i, x in enumerate(node.inputs):
        counter = getattr(x, "_version_counter", None)
        if counter is not None and counter[1] > node.epoch and _kept(x.data, kept):
            _raise_stale(node, f"input {i}", x.data.shape, counter[0])
    if node.output_counter[1] > node.epoch and _kept(node.output_array, kept):
        _raise_stale(node, "its output", node.output_array.shape, node.output_counter[0])


def _kept(array: np.ndarray, kept: list[np.ndarray]) -> bool:
    base = array if array.base is None else array.base
    return any(k is array or k is base or k.base is base for k in kept)


def _raise_stale(node: Context, which: str, shape: tuple, version: int) -> None:
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {which} of {node.name()}, a tensor of shape {tuple(shape)}, is at version "
        f"{version} but {node.name()} saved it before that change. Do the in-place change "
        "after backward(), or use an out-of-place operation (x = x + 1 instead of x += 1)."
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
    if leaf.grad is not None:
        leaf.grad += g
    elif id(g) in handed or g.base is not None or g.dtype != leaf.data.dtype or not g.flags.writeable:
        leaf.grad = np.array(g, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad = g
        owned.add(id(g))
    handed.add(id(g))
