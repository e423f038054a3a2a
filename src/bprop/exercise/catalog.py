"""What an exercise is, and the registry of them.

An exercise is one op's forward, written out in NumPy for the learner to read, and the op's
backward left for them to write. The checker runs the learner's backward on random inputs and
compares it with bprop's own backward of the same op (the hand-derived one in bprop.ops) and
with finite differences of the file's forward; ``mistakes`` lists the typical wrong answers
for each gradient, so that a match can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Inputs = dict[str, Any]
Grads = tuple[np.ndarray, ...]
# per gradient name: (what the learner did, the array that mistake gives)
Mistakes = dict[str, list[tuple[str, np.ndarray]]]


@dataclass(frozen=True)
class Exercise:
    name: str  # the CLI's OP argument
    title: str
    template: str  # the learner's file: docstring, forward filled in, backward with hints
    wrt: tuple[str, ...]  # the inputs backward returns gradients for, in order
    make_inputs: Callable[[np.random.Generator], Inputs]  # keyword arguments of forward
    reference: Callable[[Inputs, np.ndarray], tuple[np.ndarray, Grads]]  # bprop's (out, grads)
    mistakes: Callable[[Inputs, np.ndarray], Mistakes]

    @property
    def grad_names(self) -> tuple[str, ...]:
        return tuple(f"d{name}" for name in self.wrt)


def registry() -> dict[str, Exercise]:
    """Every exercise by name, in teaching order."""
    from bprop.exercise import dense, norms, spatial

    return {ex.name: ex for ex in (*dense.EXERCISES, *norms.EXERCISES, *spatial.EXERCISES)}


def header(title: str, name: str, returns: str) -> str:
    """The top of every exercise file: what to do and how to check it."""
    return f'''"""Exercise: the backward pass of {title}.

The forward pass below is complete. Write ``backward(dout, cache)``: given dout = ∂L/∂out
(same shape as out) and the cache forward returned, return
    {returns}
each with the shape of its input. The comments hold the derivation's steps. Check it with

    bprop check THIS_FILE.py

which runs your backward on random inputs against bprop's hand-derived backward of the same
op and against finite differences, and says per gradient what is off.
"""

import numpy as np

OP = "{name}"
'''
