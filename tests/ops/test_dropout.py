"""Inverted dropout (ops.dropout.Dropout and F.dropout): the mask's statistics, seeding and reuse
in backward. Gradcheck with a fixed mask, torch parity and dtypes are in the op table (op_db.py)."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
import bprop.nn.functional as F
from bprop.ops.dropout import Dropout


def test_expectation_scaling_and_gradient_mask():
    bp.manual_seed(1)
    x = bp.tensor(np.ones((200, 200)), requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = np.asarray(y) != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(np.asarray(y)[kept], 1 / 0.7)
    assert np.asarray(y).mean() == pytest.approx(1.0, abs=0.02)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7)


def test_gradient_uses_the_forward_mask_not_a_new_one():
    bp.manual_seed(2)
    x = bp.tensor(rand(50, 50), requires_grad=True)
    y = F.dropout(x, 0.5)
    g = rand(50, 50, seed=1)
    bp.randn(100)  # other draws between forward and backward must not matter
    y.backward(g)
    np.testing.assert_array_equal(x.grad, np.where(np.asarray(y) != 0, g * 2.0, 0.0))


def test_p_one_zeroes_output_and_gradient():
    x = bp.tensor(rand(3, 4), requires_grad=True)
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(np.asarray(y), 0)
    y.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(x.grad, 0)


def test_identity_cases_and_dtypes():
    x = bp.randn(3, 4)
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.9, training=False) is x
    assert F.dropout(x, 0.5).dtype == np.float32
    assert F.dropout(bp.tensor(rand(3, 4)), 0.5).dtype == np.float64


def test_mask_follows_the_global_seed():
    x = bp.ones(30, 30)
    bp.manual_seed(4)
    first, second = np.asarray(F.dropout(x, 0.5)), np.asarray(F.dropout(x, 0.5))
    bp.manual_seed(4)
    np.testing.assert_array_equal(np.asarray(F.dropout(x, 0.5)), first)
    assert (first != second).any()


def test_input_is_not_modified():
    x = bp.tensor(rand(6, 6))
    before = np.array(np.asarray(x))
    F.dropout(x, 0.5)
    np.testing.assert_array_equal(np.asarray(x), before)


@pytest.mark.parametrize("p", [-0.5, 1.5])
def test_probability_outside_unit_interval_is_rejected(p):
    with pytest.raises(ValueError, match=r"dropout: probability p must be in \[0, 1\], got"):
        F.dropout(bp.randn(2, 2), p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout.apply(bp.randn(2, 2), p=p)
