"""matmul and the fused Linear op beyond the op table (op_db.py, which checks both over 1-D,
batched and broadcast shapes): a constant operand, the notes' δ·aᵀ, and errors."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
from bprop.ops.linalg import Linear


def test_matmul_with_a_constant_operand():
    w = bp.tensor(rand(4, 2), requires_grad=True)
    x = rand(3, 4)
    (x @ w).sum().backward()  # ndarray on the left defers to Tensor.__rmatmul__
    np.testing.assert_allclose(w.grad, x.sum(0)[:, None].repeat(2, 1))


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_weight_gradient_of_one_sample_is_the_outer_product_exactly(dtype):
    """One sample's ∂C/∂W = δ xᵀ takes a broadcast multiply instead of a GEMM with inner
    dimension 1; it must equal the GEMM bit for bit (each entry is one product, no sum)."""
    from bprop.autograd import Context

    rng = np.random.default_rng(5)
    x, w, g = (rng.standard_normal(s).astype(dtype) for s in [(1, 33), (17, 33), (1, 17)])
    x[0, 3], g[0, 2] = np.inf, np.nan
    ctx = Context(Linear)
    ctx.needs_input_grad = (True, True, True)
    Linear.forward(ctx, x, w, None)
    gx, gw, _ = Linear.backward(ctx, g)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(gw, g.T @ x)
    assert gw.dtype == dtype and gw.shape == w.shape and gw.flags.c_contiguous
    np.testing.assert_allclose(gx, g @ w)
