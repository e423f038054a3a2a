"""In-place changes against torch: the issue's regressions, the in-place table, and a fuzzer.

The rule bprop follows is torch's: the graph points at the *version* of a tensor an op consumed.
An in-place op on an intermediate records a new node for it (earlier consumers keep the old
one); an in-place op through a view of an intermediate is carried into the base's graph; where
an op saved a value that has changed since, backward raises "modified by an inplace operation";
a leaf that requires grad (or a view of one) refuses in-place changes outside no_grad.

Every case runs the same program on torch and on bprop (float64) and asks for the same outcome:
the same gradients and output, or an error from both.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, Callable

import numpy as np
import pytest

import bprop as bp

torch = pytest.importorskip("torch")


class Lib:
    """The few calls that differ between torch and bprop; the programs use Tensor methods."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def leaf(self, array: np.ndarray, grad: bool = True) -> Any:
        if self.module is torch:
            return torch.tensor(array, dtype=torch.float64, requires_grad=grad)
        return bp.tensor(np.asarray(array, np.float64), requires_grad=grad)

    def const(self, array: np.ndarray) -> Any:
        return self.leaf(array, grad=False)


TORCH, BPROP = Lib(torch), Lib(bp)


def outcome(lib: Lib, program: Callable[[Lib], tuple]) -> Any:
    """("ok", output, gradients of the leaves) or ("error",) when any step raises RuntimeError."""
    try:
        out, leaves = program(lib)
        out.backward()
    except RuntimeError:
        return ("error",)
    grads = [None if t.grad is None else np.asarray(t.grad.numpy() if lib is TORCH else t.grad) for t in leaves]
    return ("ok", float(out.item()), grads)


def assert_same(program: Callable[[Lib], tuple], what: str = "") -> None:
    expected, got = outcome(TORCH, program), outcome(BPROP, program)
    assert expected[0] == got[0], f"{what}: torch {expected[0]}, bprop {got[0]}"
    if expected[0] == "ok":
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-10, atol=1e-10, err_msg=f"{what}: output")
        for i, (g, e) in enumerate(zip(got[2], expected[2])):
            assert (g is None) == (e is None), f"{what}: leaf {i} gradient is {g} in bprop, {e} in torch"
            if e is not None:
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10, err_msg=f"{what}: leaf {i} gradient")


# ---------------------------------------------------------------------------------------------
# The issue's cases, one by one
# ---------------------------------------------------------------------------------------------

ONES = np.ones(3)


def edit_after_relu(lib: Lib) -> tuple:
    x = lib.leaf(ONES)
    h = x * 2
    y = h.relu()
    h *= 5
    return y.sum(), [x]


def slice_times_three(lib: Lib) -> tuple:
    x = lib.leaf(ONES)
    h = x * 2
    h[0:2] *= 3
    return h.sum(), [x]


def add_to_itself(lib: Lib) -> tuple:
    x = lib.leaf(ONES)
    h = x * 1
    h += h
    return h.sum(), [x]


def copy_an_element(lib: Lib) -> tuple:
    x = lib.leaf(ONES)
    h = x * 1
    h[0] = h[2]
    return (h * lib.const(np.array([1.0, 2.0, 3.0]))).sum(), [x]


def through_a_view(lib: Lib) -> tuple:
    x = lib.leaf(np.ones(2))
    h = x * 1
    v = h.reshape(-1)
    v *= 3
    return h.sum(), [x]


def a_sibling_view_follows(lib: Lib) -> tuple:
    x = lib.leaf(np.ones(4))
    h = x * 1
    v, w = h.reshape(2, 2), h.reshape(4, 1)
    v *= lib.const(np.array([[1.0, 2.0], [3.0, 4.0]]))
    return (w * w).sum(), [x]


def a_saved_value_changed(lib: Lib) -> tuple:
    x = lib.leaf(ONES)
    h = x * 2
    y = h * h  # Mul saves h
    h += 1
    return y.sum(), [x]


ISSUE_CASES = [
    edit_after_relu,
    slice_times_three,
    add_to_itself,
    copy_an_element,
    through_a_view,
    a_sibling_view_follows,
    a_saved_value_changed,
]


@pytest.mark.parametrize("program", ISSUE_CASES, ids=lambda p: p.__name__)
def test_issue_case_matches_torch(program: Callable) -> None:
    assert_same(program, program.__name__)


def test_the_issue_figures():
    assert outcome(BPROP, edit_after_relu)[2][0].tolist() == [2, 2, 2]
    assert outcome(BPROP, slice_times_three)[2][0].tolist() == [6, 6, 2]
    assert outcome(BPROP, add_to_itself)[2][0].tolist() == [2, 2, 2]  # torch: d(2h)/dx with h = x
    assert outcome(BPROP, copy_an_element)[2][0].tolist() == [0, 2, 4]
    assert outcome(BPROP, through_a_view)[2][0].tolist() == [3, 3]


def test_a_stale_saved_value_names_the_op_and_versions():
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: input 0 of MulBackward.* version 1"):
        out, _ = a_saved_value_changed(BPROP)
        out.backward()


# ---------------------------------------------------------------------------------------------
# The in-place table: every in-place method × target × earlier use × operand, against torch
# ---------------------------------------------------------------------------------------------

X = np.arange(1.0, 13.0).reshape(3, 4) / 7
METHODS: dict[str, Callable[[Any, Any], Any]] = {
    "add_": lambda t, o: t.add_(o),
    "sub_": lambda t, o: t.sub_(o),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o),
    "add_(alpha)": lambda t, o: t.add_(o, alpha=0.5),
    "+=": lambda t, o: t.__iadd__(o),
    "-=": lambda t, o: t.__isub__(o),
    "*=": lambda t, o: t.__imul__(o),
    "/=": lambda t, o: t.__itruediv__(o),
    "t[0] = o[0]": lambda t, o: t.__setitem__(0, o[0]),
    "t[:, 1:] = o[:, 1:]": lambda t, o: t.__setitem__((slice(None), slice(1, None)), o[:, 1:]),
    "t[idx] = o[idx]": lambda t, o: t.__setitem__(([0, 1], [1, 0]), o[[0, 1], [1, 0]]),
    "copy_": lambda t, o: t.copy_(o),
    "fill_": lambda t, o: t.fill_(0.5),
    "zero_": lambda t, o: t.zero_(),
}
TAKES_NO_OPERAND = {"fill_", "zero_"}
TARGETS = ("leaf", "non-leaf", "reshape view of a non-leaf", "permute view of a non-leaf", "view of a leaf")
USES = ("none", "by an op that saves it", "by an op that saves nothing")
OPERANDS = ("tensor that requires grad", "constant")


def table_program(method: str, target: str, use: str, operand: str) -> Callable[[Lib], tuple]:
    def program(lib: Lib) -> tuple:
        x = lib.leaf(X)
        h = x * 1.5
        t = {
            "leaf": x,
            "non-leaf": h,
            "reshape view of a non-leaf": h.reshape(4, 3),
            "permute view of a non-leaf": h.permute(1, 0),
            "view of a leaf": x.reshape(4, 3),
        }[target]
        values = 1.0 + np.arange(t.numel()).reshape(tuple(t.shape)) / 10  # > 0: div_ is safe
        w = lib.leaf(values) if operand == "tensor that requires grad" else lib.const(values)
        earlier = {"none": None, "by an op that saves it": t * t, "by an op that saves nothing": t + 1}[use]
        METHODS[method](t, w)
        out = (t * lib.const(values)).sum() + (h * lib.const(X)).sum()
        if earlier is not None:
            out = out + (earlier * lib.const(values)).sum()
        return out, [x, w]

    return program


def table_cases() -> list[Any]:
    cases = []
    for method, target, use, operand in itertools.product(METHODS, TARGETS, USES, OPERANDS):
        if method in TAKES_NO_OPERAND and operand != "constant":
            continue
        cases.append(pytest.param(method, target, use, operand, id=f"{method}|{target}|used {use}|{operand}"))
    return cases


@pytest.mark.parametrize(("method", "target", "use", "operand"), table_cases())
def test_in_place_table(method: str, target: str, use: str, operand: str) -> None:
    assert_same(table_program(method, target, use, operand), f"{method} on a {target}, used {use}, {operand}")


# ---------------------------------------------------------------------------------------------
# Fuzzing: random op programs with in-place ops and views on intermediates
# ---------------------------------------------------------------------------------------------


def random_program(seed: int) -> list[tuple]:
    """A list of steps over numbered variables: 0 and 1 are leaves of shape (3, 4); each step
    makes a new variable (an op or a view) or changes one in place."""
    rng = random.Random(seed)
    shapes = {0: (3, 4), 1: (3, 4)}
    steps: list[tuple] = []
    for _ in range(rng.randint(3, 9)):
        n = len(shapes)
        kind = rng.choice(["unary", "binary", "view", "inplace", "inplace", "setitem"])
        a = rng.randrange(n)
        same = [v for v in shapes if shapes[v] == shapes[a]]
        if kind == "unary":
            steps.append(("unary", a, rng.choice(["tanh", "sigmoid", "relu", "exp", "scale"])))
            shapes[n] = shapes[a]
        elif kind == "binary":
            steps.append(("binary", a, rng.choice(same), rng.choice(["add", "mul", "sub"])))
            shapes[n] = shapes[a]
        elif kind == "view":
            new = rng.choice([(12,), (4, 3), (3, 4), (2, 6), "T"])
            if new == "T" and len(shapes[a]) != 2:
                new = (12,)
            steps.append(("view", a, new))
            shapes[n] = shapes[a][::-1] if new == "T" else new
        elif kind == "inplace":
            steps.append(("inplace", a, rng.choice(same), rng.choice(["add_", "mul_", "sub_", "mul_c", "add_c"])))
        else:
            steps.append(("setitem", a, rng.choice(same)))
    return steps


def run_program(steps: list[tuple], seed: int) -> Callable[[Lib], tuple]:
    def program(lib: Lib) -> tuple:
        rng = np.random.default_rng(seed)
        leaves = [lib.leaf(rng.uniform(-1, 1, (3, 4))), lib.leaf(rng.uniform(-1, 1, (3, 4)))]
        xs: list[Any] = [leaves[0] * 1, leaves[1] * 1]  # intermediates: leaves refuse in-place changes
        for step in steps:
            kind, a = step[0], xs[step[1]]
            if kind == "unary":
                xs.append(a * 0.5 if step[2] == "scale" else getattr(a, step[2])())
            elif kind == "binary":
                b = xs[step[2]]
                xs.append({"add": a + b, "mul": a * b, "sub": a - b}[step[3]])
            elif kind == "view":
                xs.append(a.permute(1, 0) if step[2] == "T" else a.reshape(step[2]))
            elif kind == "inplace":
                b, op = xs[step[2]], step[3]
                if op == "mul_c":
                    a.mul_(1.5)
                elif op == "add_c":
                    a.add_(0.25)
                else:
                    getattr(a, op)(b)
            else:
                a[0] = xs[step[2]][-1]
        coefs = np.random.default_rng(seed + 1)
        out = sum((x * lib.const(coefs.uniform(-1, 1, tuple(x.shape)))).sum() for x in xs)
        return out, leaves

    return program


def fuzz(seeds: range) -> dict[str, int]:
    counts = {"ok": 0, "error": 0}
    for seed in seeds:
        steps = random_program(seed)
        program = run_program(steps, seed)
        with np.errstate(all="ignore"):
            assert_same(program, f"seed {seed}: {steps}")
        counts[outcome(TORCH, program)[0]] += 1
    return counts


def test_fuzz_200_programs():
    counts = fuzz(range(200))
    assert counts["ok"] > 100 and counts["error"] > 0, counts  # both outcomes are exercised


@pytest.mark.slow
def test_fuzz_2000_programs():
    counts = fuzz(range(200, 2200))
    assert counts["ok"] > 1000 and counts["error"] > 0, counts
