"""Elementwise ops: float64 gradcheck over broadcasting, size-1 and odd shapes; torch parity;
float32 stays float32 through forward and backward."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, leaf, rand, torch_parity

import bprop as bp
from bprop.ops import elementwise

BROADCAST_PAIRS = [
    ((3,), (3,)),
    ((4, 1, 3), (5, 3)),
    ((2, 3), (1,)),
    ((1, 1), (3, 1, 2)),
    ((), (2, 3)),
    ((5, 1), (1, 4)),
    ((2, 3), ()),
    ((3, 1, 5), (3, 7, 1)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


def _operands(name, sa, sb):
    a, b = rand(*sa), rand(*sb, seed=2)
    if name == "div":
        b = np.abs(b) + 0.5  # keep away from the pole
    if name == "pow":
        a = np.abs(a) + 0.5  # ∂/∂b of aᵇ needs a > 0
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
def test_binary_gradcheck_broadcasting(name, sa, sb):
    a, b = _operands(name, sa, sb)
    check(BINARY[name], a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", [((4, 1, 3), (5, 3)), ((5, 3), (4, 1, 3)), ((1, 1), (3, 1, 2)), ((), (7,))])
def test_binary_torch_parity(name, sa, sb):
    torch_parity(BINARY[name], BINARY[name], *_operands(name, sa, sb))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_grad_shapes_equal_input_shapes(name):
    a, b = leaf(_operands(name, (4, 1, 3), (5, 3))[0]), leaf(_operands(name, (4, 1, 3), (5, 3))[1])
    out = BINARY[name](a, b)
    assert out.shape == (4, 5, 3)
    out.sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (5, 3)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float32_throughout(name):
    a, b = _operands(name, (4, 1, 3), (5, 3))
    assert_float32_throughout(BINARY[name], a, b)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x, None),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), None),
    "log": (lambda x: x.log(), lambda x: x.log(), 0.5),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), 0.5),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), None),
    "square": (lambda x: x**2, lambda x: x**2, None),
    "cube": (lambda x: x**3.0, lambda x: x**3.0, None),
    "pow_one": (lambda x: x**1, lambda x: x**1, None),
    "pow_zero": (lambda x: x**0 * x, lambda x: x**0 * x, None),
    "pow_frac": (lambda x: x**1.5, lambda x: x**1.5, 0.5),
    "pow_neg": (lambda x: x**-2, lambda x: x**-2, 0.5),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), None),
    "clip_low": (lambda x: x.clip(min=0.1), lambda x: x.clamp(min=0.1), None),
    "clip_high": (lambda x: x.clip(max=0.1), lambda x: x.clamp(max=0.1), None),
    "radd": (lambda x: 2.0 + x, lambda x: 2.0 + x, None),
    "rsub": (lambda x: 2.0 - x, lambda x: 2.0 - x, None),
    "rmul": (lambda x: 3.0 * x, lambda x: 3.0 * x, None),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x, 0.5),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, None),
    "div_scalar": (lambda x: x / 4.0, lambda x: x / 4.0, None),
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


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_throughout(name):
    ours, _, low = UNARY[name]
    assert_float32_throughout(ours, rand(3, 4, low=low))


def test_module_level_functions_match_the_methods():
    x = rand(2, 3, low=0.5)
    for fn, method in [(bp.exp, "exp"), (bp.log, "log"), (bp.sqrt, "sqrt"), (bp.abs, "abs")]:
        np.testing.assert_array_equal(fn(bp.tensor(x)).data, getattr(bp.tensor(x), method)().data)
    np.testing.assert_array_equal(bp.clamp(bp.tensor(x), 0.7, 0.9).data, np.clip(x, 0.7, 0.9))


def test_pow_gradient_at_zero_follows_torch():
    torch = pytest.importorskip("torch")
    for p in (0.0, 1.0, 2.0, 3.0):
        x = leaf(np.array([0.0, 1.5, -2.0]))
        (x**p).sum().backward()
        ref = torch.tensor([0.0, 1.5, -2.0], dtype=torch.float64, requires_grad=True)
        (ref**p).sum().backward()
        np.testing.assert_allclose(x.grad, ref.grad.numpy(), err_msg=f"p = {p}")


def test_where_gradcheck_with_broadcasting_and_scalars():
    cond = rand(4, 3) > 0
    check(lambda a, b: bp.where(cond, a, b), rand(4, 3), rand(3, seed=1))
    check(lambda a, b: bp.where(cond[:1], a, b), rand(5, 1, 3), rand(4, 1, seed=1))
    check(lambda a: bp.where(bp.tensor(cond), a, 0.0), rand(4, 3))
    check(lambda b: bp.where(cond, 1.5, b), rand(1, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda a, b: bp.where(cond, a, b),
        lambda a, b: torch.where(torch.tensor(cond), a, b),
        rand(4, 3),
        rand(3, seed=1),
    )


def test_where_keeps_float32():
    cond = rand(4, 3) > 0
    assert_float32_throughout(lambda a, b: bp.where(cond, a, b), rand(4, 3), rand(3))
    assert bp.where(cond, bp.ones(4, 3), 0.5).dtype == np.float32


def test_clip_gradient_at_the_bounds_follows_torch():
    x = leaf(np.array([-1.0, -0.5, 0.0, 0.7, 2.0]))
    x.clip(-0.5, 0.7).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])  # torch.clamp passes the gradient at the bounds
    with pytest.raises(ValueError, match="at least one of min and max"):
        x.clip()


def test_abs_gradient_at_zero_is_zero():
    x = bp.tensor([0.0, -2.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, -1.0, 1.0])


def test_cast_gradient_returns_to_source_dtype():
    x = bp.tensor(rand(3), requires_grad=True)
    y = x.to(np.float32)
    assert y.dtype == np.float32 and y.grad_fn.name() == "CastBackward"
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 2.0)
    z = bp.tensor(np.ones(2, np.float32), requires_grad=True)
    (z.double() * bp.tensor(rand(2))).sum().backward()
    assert z.grad.dtype == np.float32


def test_cast_gradcheck_within_float64():
    # Tensor.to skips a cast to the same dtype; the op itself still has to pass
    check(lambda x: elementwise.Cast.apply(x, dtype=np.dtype(np.float64)) * 3, rand(2, 3))


def test_broadcast_mismatch_names_both_shapes():
    for fn in BINARY.values():
        with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4,\) do not broadcast"):
            fn(bp.ones(2, 3), bp.ones(4))
