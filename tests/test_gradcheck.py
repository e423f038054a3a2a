"""bp.gradcheck itself: passes on correct ops, reports a wrong one precisely."""

import numpy as np
import pytest

import bprop as bp
from bprop.autograd import Function
from tests.helpers import leaf, rand


class WrongSquare(Function):
    """y = x² with a deliberately wrong backward (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return (grad * ctx.saved[0],)


def test_passes_on_a_correct_function():
    assert bp.gradcheck(lambda a, b: (a @ b).tanh(), [leaf(rand(3, 4)), leaf(rand(4, 2, seed=1))])


def test_failure_names_input_index_values_and_error():
    with pytest.raises(bp.GradcheckError, match=r"input 0 .*index \(.*analytic .*numerical .*relative error"):
        bp.gradcheck(lambda x: WrongSquare.apply(x), [leaf(rand(2, 3))])


def test_returns_false_without_raising():
    assert bp.gradcheck(lambda x: WrongSquare.apply(x), [leaf(rand(3))], raise_exception=False) is False


def test_only_inputs_requiring_grad_are_checked_and_arrays_are_accepted():
    const = bp.tensor(rand(3))
    assert bp.gradcheck(lambda x, c: x * c, [rand(3, seed=2), const])


def test_float32_inputs_warn():
    with pytest.warns(UserWarning, match="float64"):
        bp.gradcheck(lambda x: x * 2, [bp.tensor([1.0, 2.0], requires_grad=True)], atol=1e-2, rtol=1e-2)


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        bp.gradcheck(lambda x: x * 2, [bp.tensor(np.ones(2))])
