"""Inverted dropout."""

import numpy as np
import pytest
from tests.helpers import check, rand

import bprop as bp
import bprop.nn.functional as F


def test_gradcheck_with_a_fixed_mask():
    def fn(x):
        bp.manual_seed(0)  # the same mask on every call
        return F.dropout(x, 0.4)

    check(fn, rand(4, 5))


def test_expectation_scaling_and_gradient_mask():
    bp.manual_seed(1)
    x = bp.tensor(np.ones((200, 200)), requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7)


def test_edge_probabilities_and_eval_mode():
    x = bp.randn(3, 4)
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.9, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)
    assert F.dropout(x, 0.5).dtype == np.float32
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(x, 1.5)
