"""The autograd engine: the ops' ArrayFunction, the graph it records, and the backward walk;
torch's user-facing ``Function``, ``grad`` and ``backward`` on top of it.

An op of bprop is an ``ArrayFunction`` subclass with two static methods working on raw ndarrays::

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
    ndarray (``t.numpy()[...] = v``) bypasses bprop and cannot be tracked.

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

Users' functions
    ``Function`` is torch's: forward(ctx, *tensors) and backward(ctx, *grads) on Tensors,
    ``ctx.save_for_backward``/``saved_tensors``, ``needs_input_grad``, ``mark_non_differentiable``,
    ``F.apply``. An adapter (``function._TensorFunctionOp``) runs it as an op of the same engine.
    ``grad(outputs, inputs, …)`` and ``backward(tensors, grad_tensors, …)`` are torch's first-order
    forms of the walk (``engine.run_backward_from``).

Hooks
    ``Tensor.register_hook(fn)`` and ``Tensor.retain_grad()`` live on the node that produced a
    tensor (on the tensor itself for leaves) and cost nothing when unused: the walk tests one
    attribute per node. See ``TensorHooks.run`` for the order, which is torch's.
"""

from __future__ import annotations

from typing import Any

from bprop.autograd import function
from bprop.autograd.engine import (
    GradSlots,
    _topological_order,
    backward,
    checked_gradient,
    grad,
    run_backward,
    run_backward_from,
)
from bprop.autograd.function import ArrayFunction, Context, Function, FunctionCtx, sum_to_shape
from bprop.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from bprop.autograd.hooks import RemovableHandle, TensorHooks, read_only_tensor
from bprop.autograd.versions import _inplace_epoch, bump_version, check_saved_versions, share_version_counter

__all__ = [
    "ArrayFunction",
    "Context",
    "Function",
    "FunctionCtx",
    "GradSlots",
    "RemovableHandle",
    "TensorHooks",
    "_inplace_epoch",
    "_topological_order",
    "backward",
    "bump_version",
    "check_saved_versions",
    "checked_gradient",
    "enable_grad",
    "grad",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "read_only_tensor",
    "run_backward",
    "run_backward_from",
    "set_grad_enabled",
    "share_version_counter",
    "sum_to_shape",
]


def __getattr__(name: str) -> Any:
    if name == "_profiler":  # set by bprop.profiler on the module that reads it
        return function._profiler
    raise AttributeError(f"module 'bprop.autograd' has no attribute {name!r}")
