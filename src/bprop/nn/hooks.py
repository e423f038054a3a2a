"""Module hooks with torch's semantics: forward pre-hooks, forward hooks, full backward hooks.

``Module.__call__`` comes here only when a hook is registered, so unused hooks cost one
attribute test per call. The order is torch's:

1. forward pre-hooks ``fn(module, args)`` may return new args (a tuple, or one value);
2. with full backward hooks and grad mode on, the tensor args are passed through one node
   (``ModuleInputs``) so that the module's own share of their gradients can be caught;
3. ``forward``; then forward hooks ``fn(module, args, output)`` may return a new output;
4. backward: the gradients arriving at the outputs are noted (grad_output); once the
   gradients of the inputs through this module are complete, full backward hooks
   ``fn(module, grad_input, grad_output)`` run and may return a replacement grad_input
   (one entry per positional arg, None for those that are not tensors or get no gradient).

How step 2 works: each tensor arg x_i is replaced by x_i' (same data) whose node
``ModuleInput`` hands its gradient on tagged with i (``GradSlots``); all of them feed one
``ModuleInputs`` node, which the engine reaches only after every x_i' got its whole gradient
(it is their common input). There the hooks run on the gathered tuple and their result goes on
to the x_i. These nodes are engine machinery, not ops: they have no math and no op-table entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from bprop import autograd
from bprop.tensor import Tensor

if TYPE_CHECKING:
    from bprop.nn.module import Module


class ModuleHooks:
    """The hooks of one module, each kind in registration order."""

    __slots__ = ("backward", "forward", "forward_pre")

    def __init__(self) -> None:
        self.forward_pre: dict[int, Callable] = {}
        self.forward: dict[int, Callable] = {}
        self.backward: dict[int, Callable] = {}

    def add(self, kind: str, fn: Callable) -> autograd.RemovableHandle:
        hooks = getattr(self, kind)
        handle = autograd.RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle


def call_with_hooks(module: Module, hooks: ModuleHooks, args: tuple, kwargs: dict) -> Any:
    for fn in list(hooks.forward_pre.values()):
        new_args = fn(module, args)
        if new_args is not None:
            args = new_args if isinstance(new_args, tuple) else (new_args,)
    catcher = None
    if hooks.backward and autograd.is_grad_enabled():
        catcher = _BackwardCatcher(module, hooks, len(args))
        args = catcher.wrap_inputs(args)
    output = module.forward(*args, **kwargs)
    for fn in list(hooks.forward.values()):
        new_output = fn(module, args, output)
        if new_output is not None:
            output = new_output
    if catcher is not None:
        catcher.watch_outputs(output)
    return output


class ModuleInput:
    """Node of one wrapped module input x_i': its gradient goes on to ``ModuleInputs``, tagged i."""

    @staticmethod
    def backward(ctx: autograd.Context, grad_out: np.ndarray) -> tuple:
        return (autograd.GradSlots({ctx.slot: grad_out}),)


class ModuleInputs:
    """Node under a module's tensor args: runs the module's full backward hooks on their
    gathered gradients and passes the (possibly replaced) gradients on to the args."""

    @staticmethod
    def backward(ctx: autograd.Context, slots: autograd.GradSlots) -> tuple:
        return ctx.catcher.run_hooks(slots)


def _node(fn: type, inputs: tuple) -> autograd.Context:
    node = autograd.Context(fn)
    node.connect(inputs)
    node.needs_input_grad = tuple(getattr(x, "requires_grad", False) for x in inputs)
    node.epoch = autograd._inplace_epoch[0]
    node.output_counter, node.output_array = [0, 0], None
    return node


class _BackwardCatcher:
    """One call of a module with full backward hooks: wraps its inputs, notes grad_output."""

    def __init__(self, module: Module, hooks: ModuleHooks, n_args: int) -> None:
        self.module = module
        self.hooks = hooks
        self.n_args = n_args
        self.arg_slots: list[int] = []  # positions of the tensor args that require grad
        self.zero_grads: dict[int, np.ndarray] = {}  # torch's grad_input for other tensor args: zeros
        self.grad_outputs: list[np.ndarray | None] = []
        self.n_outputs = 0
        self.fired = False

    def wrap_inputs(self, args: tuple) -> tuple:
        self.arg_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.arg_slots:
            return args
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and not a.requires_grad:
                self.zero_grads[i] = np.zeros_like(a._data) if a.dtype.kind == "f" else None
        gather = _node(ModuleInputs, tuple(args[i] for i in self.arg_slots))
        gather.catcher = self
        gathered = Tensor._from_op(np.empty(0), gather)
        wrapped = list(args)
        for slot, i in enumerate(self.arg_slots):
            node = _node(ModuleInput, (gathered,))
            node.slot = slot
            wrapped[i] = Tensor._from_op(args[i]._data, node)
            wrapped[i]._version_counter = args[i]._version_counter  # the same memory
        return tuple(wrapped)

    def watch_outputs(self, output: Any) -> None:
        outputs = output if isinstance(output, tuple) else (output,)
        self.grad_outputs = [None] * len(outputs)
        for j, out in enumerate(outputs):
            if isinstance(out, Tensor) and out.requires_grad:
                self.n_outputs += 1
                out._hook_store().observers.append(self._note(j))  # runs after the output's own hooks

    def _note(self, j: int) -> Callable[[np.ndarray], None]:
        def note_grad_output(grad: np.ndarray) -> None:
            self.grad_outputs[j] = grad
            if not self.arg_slots and sum(g is not None for g in self.grad_outputs) == self.n_outputs:
                self._call_hooks([None] * self.n_args, no_input_grad=True)  # torch: grad_input all None

        return note_grad_output

    def run_hooks(self, slots: autograd.GradSlots) -> tuple:
        grad_input: list[np.ndarray | None] = [self.zero_grads.get(i) for i in range(self.n_args)]
        for slot, i in enumerate(self.arg_slots):
            grad_input[i] = slots.get(slot)
        grad_input = self._call_hooks(grad_input, no_input_grad=False)
        return tuple(grad_input[i] for i in self.arg_slots)

    def _call_hooks(self, grad_input: list, no_input_grad: bool) -> list:
        name = type(self.module).__name__
        grad_output = _read_only(self.grad_outputs)
        for fn in list(self.hooks.backward.values()):
            new = fn(self.module, _read_only(grad_input), grad_output)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if no_input_grad and any(g is not None for g in new):
                raise RuntimeError(
                    f"backward hook of {name}: no input of the module requires grad, so the hook "
                    "must return None (or None for every gradient)"
                )
            if len(new) != len(grad_input):
                raise RuntimeError(
                    f"backward hook of {name} returned {len(new)} grad_input entries, expected "
                    f"{len(grad_input)} (one per positional argument of forward)"
                )
            grad_input = [_replacement(name, i, g, old) for i, (g, old) in enumerate(zip(new, grad_input))]
        return grad_input


def _replacement(name: str, index: int, new: Any, old: np.ndarray | None) -> np.ndarray | None:
    if new is None:
        return None
    new = np.asarray(new)  # a Tensor or an ndarray
    if old is None:
        return new  # the engine checks its shape against the input's
    if new.shape != old.shape:
        raise RuntimeError(
            f"backward hook of {name} returned grad_input[{index}] of shape {new.shape}, expected {old.shape}"
        )
    return new.astype(old.dtype, copy=False)


def _read_only(grads: list) -> tuple:
    """Gradient arrays may be shared with other tensors: hooks see them as Tensors over
    read-only views."""
    return tuple(None if g is None else autograd.read_only_tensor(g) for g in grads)
