"""The batch-norm op in training and evaluation mode over (N, C), (N, C, L), (N, C, H, W)."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F

SHAPES = [(5, 3), (4, 2, 3), (3, 2, 3, 5), (2, 1, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_training_batch_norm_gradcheck_and_parity(shape):
    c = shape[1]
    check(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True), rand(*shape), rand(c, seed=1),
          rand(c, seed=2))
    torch = pytest.importorskip("torch")
    torch_parity(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
                 lambda x, g, b: torch.nn.functional.batch_norm(x, None, None, g, b, training=True),
                 rand(*shape), rand(c, seed=1), rand(c, seed=2))


@pytest.mark.parametrize("shape", SHAPES)
def test_eval_batch_norm_gradcheck_and_parity(shape):
    c = shape[1]
    mean, var = rand(c, seed=3), rand(c, seed=4, low=0.5)
    check(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=False), rand(*shape), rand(c, seed=1),
          rand(c, seed=2))
    torch = pytest.importorskip("torch")
    torch_parity(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=False),
                 lambda x, g, b: torch.nn.functional.batch_norm(x, torch.tensor(mean), torch.tensor(var), g, b),
                 rand(*shape), rand(c, seed=1), rand(c, seed=2))


def test_without_affine_parameters():
    check(lambda x: F.batch_norm(x, None, None, training=True), rand(6, 2))


def test_running_statistics_are_updated_in_place_with_the_unbiased_variance():
    x = rand(8, 3)
    mean, var = np.zeros(3), np.ones(3)
    F.batch_norm(bp.tensor(x), mean, var, training=True, momentum=0.1)
    np.testing.assert_allclose(mean, 0.1 * x.mean(0))
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0, ddof=1))


def test_compact_backward_formula():
    """dx = (γ/(m·σ))·(m·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy."""
    x, gamma, dy = rand(6, 2), rand(2, seed=1), rand(6, 2, seed=2)
    xt, gt, bt = (bp.tensor(a, requires_grad=True) for a in (x, gamma, np.zeros(2)))
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=0.0).backward(dy)
    sigma = x.std(0)
    x_hat = (x - x.mean(0)) / sigma
    m = 6
    expected = gamma / (m * sigma) * (m * dy - dy.sum(0) - x_hat * (dy * x_hat).sum(0))
    np.testing.assert_allclose(xt.grad, expected, atol=1e-12)
    np.testing.assert_allclose(gt.grad, (dy * x_hat).sum(0), atol=1e-12)
    np.testing.assert_allclose(bt.grad, dy.sum(0), atol=1e-12)


def test_one_value_per_channel_is_an_error_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(bp.randn(1, 4), None, None, training=True)
