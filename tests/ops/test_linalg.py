"""matmul (1-D, 2-D, batched with broadcasting) and the fused Linear op."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, rand, torch_parity

import bprop as bp
from bprop.ops.linalg import Linear

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((4,), (4, 2)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 4), (3, 4, 1)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((7, 5), (5, 1)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_gradcheck_and_parity(sa, sb):
    check(lambda a, b: a @ b, rand(*sa), rand(*sb, seed=1))
    torch_parity(lambda a, b: a @ b, lambda a, b: a @ b, rand(*sa), rand(*sb, seed=1))


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:4])
def test_matmul_keeps_float32(sa, sb):
    assert_float32_throughout(lambda a, b: bp.matmul(a, b), rand(*sa), rand(*sb))


def test_matmul_with_a_constant_operand():
    w = bp.tensor(rand(4, 2), requires_grad=True)
    x = rand(3, 4)
    (x @ w).sum().backward()  # ndarray on the left defers to Tensor.__rmatmul__
    np.testing.assert_allclose(w.grad, x.sum(0)[:, None].repeat(2, 1))


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,), (1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_op(x_shape, bias):
    arrays = [rand(*x_shape), rand(4, 3, seed=1)] + ([rand(4, seed=2)] if bias else [])
    check(lambda x, w, *b: Linear.apply(x, w, *b), *arrays)
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x, w, *b: Linear.apply(x, w, *b), lambda x, w, *b: torch.nn.functional.linear(x, w, *b), *arrays
    )


def test_linear_op_keeps_float32_and_equals_matmul():
    assert_float32_throughout(lambda x, w, b: Linear.apply(x, w, b), rand(5, 3), rand(4, 3), rand(4))
    x, w, b = rand(5, 3), rand(4, 3, seed=1), rand(4, seed=2)
    np.testing.assert_allclose(Linear.apply(x, w, b).data, x @ w.T + b)


def test_linear_gradient_is_delta_times_activation_transposed():
    """The notes' ∂C/∂W = δ·aᵀ and ∂C/∂b = δ, for one sample."""
    a = rand(1, 3)
    w = bp.tensor(rand(2, 3, seed=1), requires_grad=True)
    b = bp.tensor(rand(2, seed=2), requires_grad=True)
    delta = rand(1, 2, seed=3)
    Linear.apply(bp.tensor(a), w, b).backward(delta)
    np.testing.assert_allclose(w.grad, delta.T @ a)
    np.testing.assert_allclose(b.grad, delta[0])


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align.*\(3\).*\(4\)"):
        bp.ones(2, 3) @ bp.ones(4, 5)
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\)"):
        bp.ones(3) @ bp.ones(4)
    with pytest.raises(ValueError, match=r"batch dims of shapes \(2, 3, 4\) and \(5, 4, 2\)"):
        bp.ones(2, 3, 4) @ bp.ones(5, 4, 2)
    with pytest.raises(ValueError, match="at least one dimension"):
        bp.tensor(2.0) @ bp.ones(2)


def test_linear_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(5, 2\) has 2 features.*\(4, 3\) expects 3"):
        Linear.apply(bp.ones(5, 2), bp.ones(4, 3))
    with pytest.raises(ValueError, match=r"bias shape \(3,\) should be \(4,\)"):
        Linear.apply(bp.ones(5, 3), bp.ones(4, 3), bp.ones(3))
