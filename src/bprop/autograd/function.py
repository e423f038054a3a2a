"""The internal op base: ``Function`` (array-level forward/backward), its ``Context`` node,
and ``sum_to_shape``, the helper every broadcasting op's backward uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bprop.autograd import grad_mode
from bprop.autograd.hooks import TensorHooks
from bprop.autograd.versions import _inplace_epoch, share_version_counter

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
    data = t._data
    key = (data.shape, data.dtype.char)
    array = _NO_VALUES.get(key)
    if array is None:
        if len(_NO_VALUES) > 4096:  # shapes vary without end in some programs: stay small
            _NO_VALUES.clear()
        array = _NO_VALUES[key] = np.broadcast_to(np.array(np.nan, dtype=data.dtype), data.shape)
    stand_in = object.__new__(type(t))
    stand_in._data, stand_in._grad, stand_in.grad_fn, stand_in.requires_grad = array, None, producer, True
    stand_in._version_counter, stand_in._hooks = _FREED_COUNTER, None
    return stand_in


_FREED_COUNTER = [0, 0]  # placeholders are never changed in place


class Function:
    """Base class of every op of bprop (array level: ndarrays in and out).
    Subclasses define ``forward`` and ``backward`` as staticmethods.

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

        arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
        ctx = Context(cls)
        forward = cls.forward if _profiler is None else _profiler.timed(cls, "forward")
        if grad_mode._grad_mode.enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if any(needs):
                ctx.needs_input_grad = needs
                ctx.epoch = _inplace_epoch[0]
                out = forward(ctx, *arrays, **attrs)
                ctx.inputs = inputs
                ctx.attrs = attrs  # so that gradcheck_graph can run this op again alone
                result = Tensor._from_op(out, ctx)
                if result._data.base is not None:
                    share_version_counter(result, inputs)
                ctx.output_counter = result._version_counter
                ctx.output_array = result._data
                return result
        result = Tensor._from_op(forward(ctx, *arrays, **attrs), None)
        if result._data.base is not None:
            share_version_counter(result, inputs)
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
