"""What an exercise is, and the registry of them.

An exercise is one op's forward, written out in NumPy for the learner to read, and the op's
backward left for them to write. The checker runs the learner's backward on several cases (the
geometries and inputs where wrong answers show: batch 1, odd and non-square sizes, overlapping
windows, exact ties and zeros at kinks) and compares it with bprop's own backward of the same op,
the hand-derived one in bprop.ops; ``mistakes`` lists the typical wrong answers for each
gradient, so that a match can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bprop.i18n import Msg, msg

Inputs = dict[str, Any]
Grads = tuple[np.ndarray, ...]
# per gradient name: (what the learner did, the array that mistake gives)
Mistakes = dict[str, list[tuple[Msg, np.ndarray]]]
Backward = Callable[[Any], Grads]  # dout → bprop's gradients


@dataclass(frozen=True)
class Case:
    """One set of inputs to grade on, what it puts to the test, and whether it sits on a kink
    (finite differences mean nothing there; only the op's documented convention counts)."""

    inputs: Inputs
    note: Msg
    kinks: bool = False
    dout: Any = None  # None: a random upstream gradient of the output's shape


@dataclass(frozen=True)
class Exercise:
    name: str  # the CLI's OP argument, and the title's catalogue key "ex.NAME"
    template: str  # the learner's file: docstring, forward filled in, backward with hints
    wrt: tuple[str, ...]  # the inputs backward returns gradients for, in order
    cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable[[Inputs], tuple[np.ndarray, Backward]]  # bprop's forward, and its backward
    mistakes: Callable[[Inputs, Any], Mistakes]

    @property
    def grad_names(self) -> tuple[str, ...]:
        return tuple(f"d{name}" for name in self.wrt)

    def title(self, lang: str = "en") -> str:
        return msg(f"ex.{self.name}").render(lang)


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

which runs your backward on several inputs (batch 1, odd and non-square sizes, exact ties and
zeros where the op has a kink) against bprop's hand-derived backward of the same op, and says
per gradient what is off.
"""

import numpy as np

OP = "{name}"
'''
