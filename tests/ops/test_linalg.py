"""matmul (1-D, 2-D, batched with broadcasting) and the fused Linear op."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
from bprop.ops.linalg import Linear

MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                 ((2, 1, 3, 4), (5, 4, 2)), ((1, 4), (3, 4, 1))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_gradcheck_and_parity(sa, sb):
    check(lambda a, b: a @ b, rand(*sa), rand(*sb, seed=1))
    torch_parity(lambda a, b: a @ b, lambda a, b: a @ b, rand(*sa), rand(*sb, seed=1))


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_op(x_shape, bias):
    arrays = [rand(*x_shape), rand(4, 3, seed=1)] + ([rand(4, seed=2)] if bias else [])
    check(lambda x, w, *b: Linear.apply(x, w, *b), *arrays)
    torch = pytest.importorskip("torch")
    torch_parity(lambda x, w, *b: Linear.apply(x, w, *b),
                 lambda x, w, *b: torch.nn.functional.linear(x, w, *b), *arrays)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        bp.ones(2, 3) @ bp.ones(4, 5)


def test_linear_gradient_is_delta_times_activation_transposed():
    """The notes' ∂C/∂W = δ·aᵀ and ∂C/∂b = δ, for one sample."""
    a = rand(1, 3)
    w = bp.tensor(rand(2, 3, seed=1), requires_grad=True)
    b = bp.tensor(rand(2, seed=2), requires_grad=True)
    delta = rand(1, 2, seed=3)
    Linear.apply(bp.tensor(a), w, b).backward(delta)
    np.testing.assert_allclose(w.grad, delta.T @ a)
    np.testing.assert_allclose(b.grad, delta[0])
