"""Functions: ``ArrayFunction``, the base of bprop's ops (array-level forward/backward), its
``Context`` node and ``sum_to_shape``, the helper every broadcasting op's backward uses; and
torch's ``Function`` for users (Tensors in and out), run on the same engine by an adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.autograd import grad_mode
from bprop.autograd.hooks import TensorHooks, read_only_tensor
from bprop.autograd.versions import _inplace_epoch, refresh, share_version_counter
from bprop.dtypes import promote

if TYPE_CHECKING:
    from bprop.tensor import Tensor

# The active bprop.profiler.profile, if any: apply and run_backward then time each call
# through it; otherwise the hook costs one ``is None`` check per op.
_profiler: Any = None


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
        "edges",
        "epoch",
        "fn",
        "freed",
        "hooks",
        "inputs",
        "needs_input_grad",
        "output_array",
        "output_counter",
    )

    def __init__(self, fn: type[ArrayFunction]):
        self.fn = fn
        self.inputs: tuple = ()
        self.edges: tuple = ()  # each input's grad_fn when this node was recorded (None: a leaf)
        self.needs_input_grad: tuple[bool, ...] = ()
        self.freed = False
        self.hooks: TensorHooks | None = None

    def connect(self, inputs: tuple) -> None:
        """Record the inputs and, for each, the node that produced it *now*: an in-place change
        later gives the tensor a new grad_fn, and this node keeps the version it consumed."""
        self.inputs = inputs
        self.edges = tuple([getattr(x, "grad_fn", None) for x in inputs])

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
        for x, producer in zip(self.inputs, self.edges):
            if not hasattr(x, "grad_fn"):
                inputs.append(None)
            elif producer is None:
                inputs.append(x)
            else:
                inputs.append(_placeholder(x, producer))
        self.inputs = tuple(inputs)


_NO_VALUES: dict[tuple, np.ndarray] = {}  # (shape, dtype) -> read-only NaN array of stride 0


def _placeholder(t: Tensor, producer: Context) -> Tensor:
    """A stand-in for a freed intermediate tensor: same shape, dtype and grad_fn, no values."""
    data = t._data
    key = (data.shape, data.dtype.char)
    array = _NO_VALUES.get(key)
    if array is None:
        if len(_NO_VALUES) > 4096:  # shapes vary without end in some programs: stay small
            _NO_VALUES.clear()
        array = _NO_VALUES[key] = np.broadcast_to(np.array(np.nan, dtype=data.dtype), data.shape)
    stand_in = object.__new__(type(t))
    stand_in._data, stand_in._grad, stand_in.grad_fn, stand_in.requires_grad = array, None, producer, True
    stand_in._version_counter, stand_in._hooks, stand_in._view = _FREED_COUNTER, None, None
    return stand_in


_FREED_COUNTER = [0, 0]  # placeholders are never changed in place


_TENSOR: list = []  # bprop.tensor.Tensor, found once (this floor is below it: no import at load)


def _tensor_class() -> type:
    if not _TENSOR:
        from bprop.tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


class ArrayFunction:
    """Base class of every op of bprop (array level: ndarrays in and out).
    Subclasses define ``forward`` and ``backward`` as staticmethods.

    Rules that keep the engine fast and correct: backward never modifies ``grad_out`` in place
    (several inputs may share it) and returns either ``grad_out`` itself or arrays it
    allocated, never an array a tensor holds as data. Each gradient has its input's shape
    and a floating dtype (the engine checks and casts it to the input's dtype, as torch does).
    Backward builds no graph.

    ``promotion`` names how the inputs' dtypes combine (``bprop.dtypes``: "same" by default,
    "elementwise", "float", "floating"); inputs before ``promotes_from`` (a condition, an index)
    take no part in it; ``takes_bool = False`` refuses bool operands (subtraction, as torch);
    ``float_inputs`` (positions, or "all") are the Tensor inputs that must be floating.
    """

    promotion = "same"
    float_inputs: tuple[int, ...] | str = ()
    promotes_from = 0
    takes_bool = True

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        tensor_type = _tensor_class()
        arrays = promote(cls, inputs, [x._data if isinstance(x, tensor_type) else x for x in inputs])
        ctx = Context(cls)
        forward = cls.forward if _profiler is None else _profiler.timed(cls, "forward")
        if grad_mode._grad_mode.enabled:
            for x in inputs:
                if isinstance(x, tensor_type) and x._view is not None:
                    refresh(x)  # its base changed in place since its grad_fn was made
            needs = tuple(isinstance(x, tensor_type) and x.requires_grad for x in inputs)
            if any(needs):
                ctx.needs_input_grad = needs
                ctx.epoch = _inplace_epoch[0]
                out = forward(ctx, *arrays, **attrs)
                ctx.connect(inputs)
                ctx.attrs = attrs  # so that gradcheck_graph can run this op again alone
                result = tensor_type._from_op(out, ctx)
                if result._data.base is not None:
                    share_version_counter(result, inputs, cls, attrs)
                ctx.output_counter = result._version_counter
                ctx.output_array = result._data
                return result
        result = tensor_type._from_op(forward(ctx, *arrays, **attrs), None)
        if result._data.base is not None:
            share_version_counter(result, inputs, cls, attrs)
        return result


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


# ---------------------------------------------------------------------------------------------
# The public, torch-style Function: Tensors in and out, adapted onto the engine
# ---------------------------------------------------------------------------------------------


class FunctionCtx(Context):
    """The ``ctx`` of a torch-style ``Function``: also its node in the graph (``y.grad_fn``).

    forward stores what backward needs with ``save_for_backward(*tensors)`` (read back as
    ``saved_tensors``, refused if changed in place since) or as attributes (``ctx.k = 3``).
    ``needs_input_grad[i]`` says whether input i wants a gradient."""

    def save_for_backward(self, *tensors: Any) -> None:
        from bprop.tensor import Tensor

        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got {type(t).__name__}")
        self.saved = tuple(tensors)
        self.saved_versions = tuple(None if t is None else t._version for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed); pass retain_graph=True to the first backward()"
            )
        saved = self.__dict__.get("saved", ())
        for i, (t, version) in enumerate(zip(saved, self.__dict__.get("saved_versions", ()))):
            if t is not None and t._version != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} of {self.name()}, of shape {tuple(t.shape)}, is at version "
                    f"{t._version}; expected version {version} instead"
                )
        return saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that get no gradient (indices, masks): they do not require grad, and backward
        receives zeros (or None with ``set_materialize_grads(False)``) for them."""
        self.non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None instead of zeros for outputs with no gradient."""
        self.materialize_grads = bool(value)


class _Slot(ArrayFunction):
    """The node of output i of a multi-output torch-style Function: hands ∂C/∂output_i on to
    the Function's node tagged with i (``GradSlots``); engine machinery, no math."""

    @staticmethod
    def backward(ctx: Context, grad_out: np.ndarray) -> tuple:
        from bprop.autograd.engine import GradSlots

        return (GradSlots({ctx.slot: grad_out}),)


class _FunctionMeta(type):
    """Gives each torch-style Function subclass its own engine op class, so that its node is
    named ``<Name>Backward`` as in torch."""

    def __init__(cls, name: str, bases: tuple, namespace: dict) -> None:
        super().__init__(name, bases, namespace)
        cls._op = type(name, (_TensorFunctionOp,), {"user": cls, "__module__": cls.__module__})


class _TensorFunctionOp(ArrayFunction):
    """The adapter: the engine's array-level op for a torch-style Function. Its backward wraps
    the gradients as Tensors, calls the user's backward and checks what comes back; its forward
    lets ``bp.gradcheck_graph`` run the Function again alone."""

    user: Any = None
    context_type = FunctionCtx  # what gradcheck_graph makes when it runs the Function again

    @classmethod
    def forward(cls, ctx: Context, *arrays: Any, **attrs: Any) -> np.ndarray:
        from bprop.tensor import Tensor

        wrapped = [Tensor._from_op(a, None) if isinstance(a, np.ndarray) else a for a in arrays]
        ctx.inputs = tuple(wrapped)
        out = _run_forward(cls.user, ctx, tuple(wrapped))
        if isinstance(out, tuple):
            raise RuntimeError(f"{cls.__name__}: a Function with several outputs cannot be re-run alone")
        return out._data

    @classmethod
    def backward(cls, ctx: Context, grad_out: Any) -> tuple:
        from bprop.autograd.engine import GradSlots
        from bprop.tensor import Tensor

        n = getattr(ctx, "n_outputs", 1)
        if isinstance(grad_out, GradSlots):
            grads = [grad_out.get(i) for i in range(n)]
        else:
            grads = [grad_out]
        materialize = ctx.__dict__.get("materialize_grads", True)
        shapes = getattr(ctx, "output_shapes", None)
        wrapped = []
        for i, g in enumerate(grads):
            if g is None and materialize and shapes is not None:
                g = np.zeros(*shapes[i])
            wrapped.append(None if g is None else read_only_tensor(g))
        with grad_mode.no_grad():
            result = cls.user.backward(ctx, *wrapped)
        result = result if isinstance(result, tuple) else (result,)
        return _checked_function_grads(ctx, result, Tensor)


def _checked_function_grads(ctx: Context, result: tuple, tensor_type: type) -> tuple:
    """torch's checks on what a Function's backward returned: one gradient per forward input
    (trailing Nones beyond them allowed), None for non-Tensor inputs, shapes that are the
    input's or broadcast to it (then summed back, as torch does); cast to the input's dtype."""
    n = len(ctx.inputs)
    if len(result) < n or any(g is not None for g in result[n:]):
        raise RuntimeError(
            f"function {ctx.name()} returned an incorrect number of gradients (expected {n}, got {len(result)})"
        )
    grads = []
    for i, (x, g) in enumerate(zip(ctx.inputs, result[:n])):
        if g is None or not ctx.needs_input_grad[i]:
            if g is not None and not isinstance(x, tensor_type):
                raise RuntimeError(
                    f"function {ctx.name()} returned a gradient different than None at position {i + 1}, "
                    "but the corresponding forward input was not a Tensor"
                )
            grads.append(None)
            continue
        array = np.asarray(g._data if isinstance(g, tensor_type) else g)
        shape = x._data.shape
        if array.shape != shape:
            try:
                np.broadcast_shapes(shape, array.shape)
                array = sum_to_shape(array, shape) if len(array.shape) >= len(shape) else None
            except ValueError:
                array = None
            if array is None or array.shape != shape:
                raise RuntimeError(
                    f"Function {ctx.name()} returned an invalid gradient at index {i} - got "
                    f"{list(np.shape(g))} but expected shape compatible with {list(shape)}"
                )
        grads.append(np.array(array, dtype=x._data.dtype, copy=None))
    return tuple(grads)


class Function(metaclass=_FunctionMeta):
    """torch.autograd.Function: a differentiable function written by the user on Tensors.

        class Exp(bp.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad_y):
                (y,) = ctx.saved_tensors
                return grad_y * y

        y = Exp.apply(x)

    forward runs under no_grad on the given arguments and returns a Tensor or a tuple; backward
    gets one gradient Tensor per output and returns one per forward argument (None where there
    is none). ``setup_context(ctx, inputs, output)`` may replace forward's ctx argument, as in
    torch 2. bprop's own ops use the array-level ``ArrayFunction`` instead; this class is adapted
    onto the same engine, whose shape and dtype checks it passes too.
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        from bprop.tensor import Tensor

        ctx = FunctionCtx(cls._op)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.epoch = _inplace_epoch[0]
        outputs = _run_forward(cls, ctx, args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        skip = ctx.__dict__.pop("non_differentiable", set())
        differentiable = [isinstance(o, Tensor) and id(o) not in skip and o.dtype.kind == "f" for o in outs]
        outs = tuple(_own_output(o, args) for o in outs)  # an input returned as is: a new tensor over it
        if grad_mode._grad_mode.enabled and any(ctx.needs_input_grad) and any(differentiable):
            _record(ctx, args, outs, differentiable)
        return outs[0] if single else outs


def _run_forward(cls: type, ctx: FunctionCtx, args: tuple) -> Any:
    """forward(ctx, *args), or torch 2's forward(*args) then setup_context(ctx, args, output)."""
    with grad_mode.no_grad():
        if "setup_context" not in _overridden(cls):
            return cls.forward(ctx, *args)
        outputs = cls.forward(*args)
        cls.setup_context(ctx, args, outputs)
        return outputs


def _overridden(cls: type) -> set[str]:
    return {name for klass in cls.__mro__[:-1] if klass is not Function for name in vars(klass)}


def _own_output(out: Any, args: tuple) -> Any:
    from bprop.tensor import Tensor

    if isinstance(out, Tensor) and any(out is a for a in args):
        return out.detach()
    return out


def _record(ctx: FunctionCtx, args: tuple, outs: tuple, differentiable: list[bool]) -> None:
    """Make ``ctx`` the node of the outputs: the output itself for one output; for several,
    one ``_Slot`` node per output, all feeding ctx (their gradients gathered as GradSlots)."""
    from bprop.tensor import Tensor

    ctx.connect(args)
    ctx.attrs = {}
    ctx.n_outputs = len(outs)
    ctx.output_shapes = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outs]
    if len(outs) == 1:
        (out,) = outs
        out.grad_fn, out.requires_grad = ctx, True
        ctx.output_counter, ctx.output_array = out._version_counter, out._data
        return
    hub = Tensor._from_op(np.empty(0), ctx)
    ctx.output_counter, ctx.output_array = hub._version_counter, hub._data
    for i, (out, diff) in enumerate(zip(outs, differentiable)):
        if not diff:
            continue
        node = Context(_Slot)
        node.connect((hub,))
        node.needs_input_grad, node.epoch, node.slot = (True,), ctx.epoch, i
        node.output_counter, node.output_array = out._version_counter, out._data
        out.grad_fn, out.requires_grad = node, True
