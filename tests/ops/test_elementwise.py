"""Elementwise ops: gradcheck over broadcasting and odd shapes, torch parity."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp

BROADCAST_PAIRS = [((3,), (3,)), ((4, 1, 3), (5, 3)), ((2, 3), (1,)), ((1, 1), (3, 1, 2)), ((), (2, 3)),
                   ((5, 1), (1, 4))]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
def test_binary_gradcheck_broadcasting(name, sa, sb):
    b = rand(*sb, seed=2)
    if name == "div":
        b = np.abs(b) + 0.5
    check(BINARY[name], rand(*sa), b)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_torch_parity(name):
    torch_parity(BINARY[name], BINARY[name], rand(4, 1, 3), np.abs(rand(5, 3, seed=3)) + 0.5)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x, None),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), None),
    "log": (lambda x: x.log(), lambda x: x.log(), 0.5),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), 0.5),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), None),
    "square": (lambda x: x ** 2, lambda x: x ** 2, None),
    "cube": (lambda x: x ** 3.0, lambda x: x ** 3.0, None),
    "pow_frac": (lambda x: x ** 1.5, lambda x: x ** 1.5, 0.5),
    "pow_neg": (lambda x: x ** -2, lambda x: x ** -2, 0.5),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), None),
    "clip_low": (lambda x: x.clip(min=0.1), lambda x: x.clamp(min=0.1), None),
    "rsub": (lambda x: 2.0 - x, lambda x: 2.0 - x, None),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x, 0.5),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, None),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 1, 3), ()])
def test_unary_gradcheck(name, shape):
    ours, _, low = UNARY[name]
    check(ours, rand(*shape, low=low))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_torch_parity(name):
    ours, theirs, low = UNARY[name]
    torch_parity(ours, theirs, rand(3, 4, low=low))


def test_pow_tensor_exponent_gradcheck_and_parity():
    check(lambda a, b: a ** b, rand(3, 4, low=0.5), rand(4, seed=5))
    torch_parity(lambda a, b: a ** b, lambda a, b: a ** b, rand(3, 4, low=0.5), rand(4, seed=5))


def test_where_gradcheck_with_broadcasting():
    cond = rand(4, 3) > 0
    check(lambda a, b: bp.where(cond, a, b), rand(4, 3), rand(3, seed=1))
    torch = pytest.importorskip("torch")
    torch_parity(lambda a, b: bp.where(cond, a, b), lambda a, b: torch.where(torch.tensor(cond), a, b),
                 rand(4, 3), rand(3, seed=1))


def test_cast_gradient_returns_to_source_dtype():
    x = bp.tensor(rand(3), requires_grad=True)
    y = x.to(np.float32)
    assert y.dtype == np.float32
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 2.0)


def test_broadcast_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        bp.ones(2, 3) + bp.ones(4)


def test_abs_gradient_at_zero_is_zero():
    x = bp.tensor([0.0, -2.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, -1.0, 1.0])
