"""bp.gradcheck itself: passes on correct ops, reports a wrong one precisely."""

import re

import numpy as np
import pytest

import bprop as bp
from bprop.autograd import ArrayFunction
from bprop.gradient_check import numerical_gradient
from tests.helpers import leaf, rand


class WrongSquare(ArrayFunction):
    """y = x² with a deliberately wrong backward (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        return (grad_out * ctx.x,)


class WrongInSecondInput(ArrayFunction):
    """y = a·b whose gradient for b is off by one at a single element."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        gb = grad_out * ctx.a
        gb.flat[4] += 1.0
        return grad_out * ctx.b, gb


def test_passes_on_correct_functions():
    assert bp.gradcheck(lambda a, b: (a @ b).tanh(), [leaf(rand(3, 4)), leaf(rand(4, 2, seed=1))])
    assert bp.gradcheck(lambda x: x.softmax(0).sum(0) * x.exp().mean(), leaf(rand(3, 2)))  # a single input


def test_failure_names_input_index_both_values_and_relative_error():
    x = leaf(rand(2, 3))
    with pytest.raises(bp.GradcheckError) as info:
        bp.gradcheck(lambda t: WrongSquare.apply(t), [x])
    message = str(info.value)
    match = re.search(
        r"input 0 \(shape \(2, 3\)\) at index \((\d+), (\d+)\): analytic (\S+), numerical (\S+), "
        r"relative error (\S+) \((\d+) of 6 elements off\)",
        message,
    )
    assert match, message
    i, j = int(match[1]), int(match[2])
    analytic, numerical, relative = float(match[3]), float(match[4]), float(match[5])
    projection = np.random.default_rng(0).standard_normal((2, 3))  # gradcheck's fixed projection, seed 0
    np.testing.assert_allclose(analytic, projection[i, j] * x.data[i, j], rtol=1e-6)  # v·x: the wrong one
    np.testing.assert_allclose(numerical, 2 * projection[i, j] * x.data[i, j], rtol=1e-5)  # v·2x
    np.testing.assert_allclose(relative, 0.5, rtol=1e-3)
    assert int(match[6]) == 6


def test_failure_in_a_later_input_names_that_input_and_element():
    with pytest.raises(bp.GradcheckError, match=r"input 1 \(shape \(2, 3\)\) at index \(1, 1\).*1 of 6"):
        bp.gradcheck(lambda a, b: WrongInSecondInput.apply(a, b), [leaf(rand(2, 3)), leaf(rand(2, 3, seed=1))])


def test_returns_false_without_raising():
    assert bp.gradcheck(lambda x: WrongSquare.apply(x), [leaf(rand(3))], raise_exception=False) is False
    assert bp.gradcheck(lambda x: x * x, [leaf(rand(3))], raise_exception=False) is True


def test_only_inputs_requiring_grad_are_checked_and_arrays_are_accepted():
    const = bp.tensor(rand(3))
    assert bp.gradcheck(lambda x, c, k: x * c * k, [rand(3, seed=2), const, 2.0])
    assert const.grad is None


def test_an_unused_input_has_zero_gradient():
    assert bp.gradcheck(lambda x, y: x * 2, [leaf(rand(2)), leaf(rand(3))])


def test_inputs_are_restored_after_the_check():
    x = leaf(rand(2, 3))
    before = np.array(x.data)
    bp.gradcheck(lambda t: t.exp(), [x])
    np.testing.assert_array_equal(x.data, before)


def test_non_contiguous_and_read_only_inputs_are_handled():
    base = rand(4, 3)
    x = bp.Tensor._from_op(base.T, None).requires_grad_()
    assert bp.gradcheck(lambda t: (t * t).sum(0), [x])
    frozen = rand(3, low=0.5)
    frozen.flags.writeable = False
    y = bp.Tensor._from_op(frozen, None).requires_grad_()
    assert bp.gradcheck(lambda t: t.sqrt().abs(), [y])


def test_float32_inputs_warn():
    with pytest.warns(UserWarning, match="input 0 is float32.*float64"):
        bp.gradcheck(lambda x: x * 2, [bp.tensor([1.0, 2.0], requires_grad=True)], atol=1e-2, rtol=1e-2)


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        bp.gradcheck(lambda x: x * 2, [bp.tensor(np.ones(2))])
    with pytest.raises(ValueError, match="must return a Tensor that depends"):
        bp.gradcheck(lambda x: bp.tensor(np.ones(2)), [leaf(rand(2))])


def test_numerical_gradient_is_the_centred_difference():
    a = np.array([1.0, 2.0, -0.5])
    g = numerical_gradient(lambda: float(np.sum(a**3)), a, eps=1e-5)
    np.testing.assert_allclose(g, 3 * a**2, rtol=1e-9)  # O(ε²) error
    np.testing.assert_array_equal(a, [1.0, 2.0, -0.5])


def test_nan_gradients_fail_and_are_counted():
    with np.errstate(invalid="ignore"), pytest.raises(bp.GradcheckError, match=r"analytic nan.*\(3 of 3 elements"):
        bp.gradcheck(lambda t: t.sqrt(), [leaf(-np.ones(3))])


class ExpWithSlopeOne(ArrayFunction):
    """exp(x) with a backward that claims slope 1 everywhere (right only at x = 0)."""

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.copy()


def test_an_infinite_numerical_gradient_does_not_accept_a_finite_analytic_one():
    # exp overflows between x − ε and x + ε, so the centred difference is infinite: the analytic
    # 1 must not pass as "within atol + rtol·∞"
    x = bp.tensor(np.array([709.7825]), requires_grad=True)
    with pytest.raises(bp.GradcheckError, match=r"input 0 .* at index \(0,\)"):
        bp.gradcheck(ExpWithSlopeOne.apply, [x], eps=1e-3)
