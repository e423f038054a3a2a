"""Tensor gradient hooks: ``register_hook``/``retain_grad`` storage, run in torch's order.

A tensor's hooks live on the node that produced it (on the tensor itself for a leaf) and cost
nothing when unused: the backward walk tests one attribute per node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from bprop.tensor import Tensor


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

    __slots__ = ("fns", "observers", "retained")

    def __init__(self) -> None:
        self.fns: dict[int, Callable] = {}
        self.retained: Any = None
        self.observers: list[Callable] = []  # bprop's own watchers (module backward hooks): see run

    def add(self, fn: Callable) -> RemovableHandle:
        handle = RemovableHandle(self.fns)
        self.fns[handle.id] = fn
        return handle

    def run(self, grad: np.ndarray) -> np.ndarray:
        """torch's order: hooks in registration order, each seeing the previous one's result (a
        hook returning None keeps the gradient); retain_grad stores the final gradient last.

        Hooks get a Tensor over a read-only view: several tensors may share one gradient array,
        so a hook must return a new tensor instead of writing into the one it got."""
        for fn in list(self.fns.values()):
            new = fn(read_only_tensor(grad))
            if new is not None:
                grad = _hook_result(fn, new, grad)
        for observe in self.observers:  # after the user's hooks: a module's grad_output is the hooked one
            observe(grad)
        tensor = self.retained() if self.retained is not None else None
        if tensor is not None:
            if tensor._grad is None:
                tensor._grad = tensor._from_op(grad.copy(), None)
            else:
                tensor._grad._data = tensor._grad._data + grad
        return grad


def read_only_tensor(array: np.ndarray) -> Tensor:
    """A gradient as hooks see it: a Tensor over a read-only view (the array may be shared)."""
    from bprop.tensor import Tensor

    view = array.view()
    view.flags.writeable = False
    return Tensor._from_op(view, None)


def _hook_result(fn: Callable, new: Any, grad: np.ndarray) -> np.ndarray:
    new = np.asarray(new)  # a Tensor or an ndarray
    if new.shape != grad.shape:
        name = getattr(fn, "__qualname__", repr(fn))
        raise RuntimeError(f"hook {name} returned a gradient of shape {new.shape}, the tensor's is {grad.shape}")
    return new.astype(grad.dtype, copy=False)
