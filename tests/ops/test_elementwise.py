"""Elementwise arithmetic through the Tensor API: scalar and reflected operands, where with
Python numbers, casts and errors. Each op's gradcheck, torch parity, kinks, extremes, NaN and
dtypes over broadcasting are in the op table (op_db.py)."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, leaf, rand, torch_parity

import bprop as bp

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


# What the Tensor operators add on top of the ops (the ops themselves are in the table, op_db.py):
# scalar and reflected operands, and Python numbers as exponents
UNARY = {
    "pow_zero": (lambda x: x**0 * x, lambda x: x**0 * x, None),
    "pow_int": (lambda x: x**3, lambda x: x**3, None),
    "radd": (lambda x: 2.0 + x, lambda x: 2.0 + x, None),
    "rsub": (lambda x: 2.0 - x, lambda x: 2.0 - x, None),
    "rmul": (lambda x: 3.0 * x, lambda x: 3.0 * x, None),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x, 0.5),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, None),
    "div_scalar": (lambda x: x / 4.0, lambda x: x / 4.0, None),
    "clip_low": (lambda x: x.clip(min=0.1), lambda x: x.clamp(min=0.1), None),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(3, 5), ()])
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


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one of min and max"):
        bp.ones(2).clip()


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


def test_broadcast_mismatch_names_both_shapes():
    for fn in BINARY.values():
        with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4,\) do not broadcast"):
            fn(bp.ones(2, 3), bp.ones(4))


POW_BASES = np.array([0.0, -0.0, 2.0, -2.0, 0.5, -0.5, 1.0, np.inf, np.nan])[:, None]
POW_EXPONENTS = np.array([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 2.5, np.inf, -np.inf, np.nan])[None, :]


def test_pow_with_a_tensor_exponent_is_zero_where_torch_says_so():
    """Issue 11 #3: ∂(aᵇ)/∂a was NaN at a = b = 0 (torch: 0); ∂/∂b is 0 at a = 0, b ≥ 0 too."""
    a, b = leaf(np.zeros(3)), leaf(np.array([0.0, 1.0, 2.0]))
    (a**b).backward(np.array([0.7, -1.3, 2.0]))
    np.testing.assert_array_equal(a.grad, [0.0, -1.3, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 0.0])


def test_pow_with_a_tensor_exponent_matches_torch_at_zeros_negatives_infinities_and_nan():
    """Every base against every exponent, broadcast (9, 1) against (1, 11), with a random upstream
    gradient: ∂/∂b is NaN for a negative base (ln a), ±∞ for 0 to a negative power, as torch."""
    pytest.importorskip("torch")
    torch_parity(lambda a, b: a**b, lambda a, b: a**b, POW_BASES, POW_EXPONENTS)


def test_pow_with_a_tensor_exponent_gradcheck_over_broadcasting():
    check(lambda a, b: a**b, rand(4, 1, 3, low=0.5), rand(5, 3))
    exponents = bp.tensor(np.array([[0.0, 1.0, 2.0]]))  # ∂/∂a at a = 0 (∂/∂b there is one-sided: 0⁻ᵋ = ∞)
    check(lambda a: a**exponents, np.array([[0.0], [1.5]]))


def test_abs_has_gradient_zero_at_nan_like_torch():
    """torch's sgn(NaN) = 0, so |x| sends no δ back from a NaN (np.sign would make it NaN)."""
    torch_parity(lambda t: t.abs(), lambda t: t.abs(), np.array([np.nan, -np.inf, -1.0, -0.0, 0.0, 2.0, np.inf]))
