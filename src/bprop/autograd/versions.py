"""Version counters: torch's rule against stale saved values after an in-place change.

Every tensor carries ``_version_counter`` = [version, epoch of its last change], shared by
the tensors that share its memory (views, ``detach()``). ``bump_version`` records a change;
a node remembers the epoch it was recorded at, and backward checks its saved arrays only
when some change happened since: one comparison per node in the common case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bprop.autograd.function import Context
    from bprop.tensor import Tensor

# The number of tracked in-place changes so far. A tensor's version counter is a list
# [version, epoch of its last change], shared by views; a node is stale when an input's last
# change is later than the node's epoch: one comparison per node in the common case.
_inplace_epoch = [0]


def bump_version(counter: list) -> None:
    """Record an in-place change of the tensor owning ``counter`` (all views share it)."""
    _inplace_epoch[0] += 1
    counter[0] += 1
    counter[1] = _inplace_epoch[0]


def share_version_counter(view: Tensor, inputs: tuple, op: type, attrs: dict) -> None:
    """Give ``view`` the version counter of the input whose memory it views (torch's rule: an
    in-place change through a view is a change of its base, and the reverse), and remember how
    to make it from its base (``ViewOf``) so that an in-place change of it can be carried into
    the base's graph."""
    base = view._data.base
    for x in inputs:
        data = getattr(x, "_data", None)
        if isinstance(data, np.ndarray) and (data is base or data.base is base):
            counter = view._version_counter = x._version_counter
            if x.grad_fn is None and x.requires_grad and len(counter) == 2:
                counter.append(True)  # marks the memory of a leaf that requires grad (see Tensor._tracks_in_place)
            if x._view is None:
                view._view = ViewOf(x, ((op, attrs),), x.grad_fn)
            else:
                view._view = ViewOf(x._view.base, (*x._view.chain, (op, attrs)), x._view.base.grad_fn)
            return


class ViewOf:
    """What makes a view from its base: the base tensor, the chain of view ops (op, attrs)
    from it, and the base's grad_fn when the view's own grad_fn was made. When the base gets
    a new grad_fn (an in-place change of it or of another view of it), the view's is stale:
    ``refresh`` replays the chain on the base, as torch regenerates a view's grad_fn."""

    __slots__ = ("base", "base_fn", "chain")

    def __init__(self, base: Tensor, chain: tuple, base_fn: Any) -> None:
        self.base, self.chain, self.base_fn = base, chain, base_fn


def refresh(view: Tensor) -> None:
    """Give a view whose base was changed in place the grad_fn of the view of the new base."""
    info = view._view
    if info.base.grad_fn is info.base_fn:
        return
    from bprop.autograd.grad_mode import enable_grad

    with enable_grad():
        replayed = info.base
        for op, attrs in info.chain:
            replayed = op.apply(replayed, **attrs)
    view.grad_fn = replayed.grad_fn
    view.requires_grad = replayed.requires_grad
    info.base_fn = info.base.grad_fn


def check_saved_versions(node: Context) -> None:
    """Raise when an array the op kept on ctx belongs to a tensor changed in place since the
    node was recorded (its input i, or its own output)."""
    kept = [v for v in node.__dict__.values() if isinstance(v, np.ndarray)]
    if not kept:
        return
    for i, x in enumerate(node.inputs):
        counter = getattr(x, "_version_counter", None)
        if counter is not None and counter[1] > node.epoch and _kept(x._data, kept):
            _raise_stale(node, f"input {i}", x._data.shape, counter[0])
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
