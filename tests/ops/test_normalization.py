"""The batch-norm op in training and evaluation mode over (N, C), (N, C, L), (N, C, H, W)."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

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


ODD_SHAPES = [(7, 3), (1, 3, 5), (3, 3, 1), (1, 2, 3, 3), (3, 5, 1, 7)]  # batch 1 is fine when L·H·W > 1


@pytest.mark.parametrize("shape", ODD_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_odd_and_size_one_dims(shape, training):
    c = shape[1]
    mean, var = (None, None) if training else (rand(c, seed=3), rand(c, seed=4, low=0.5))
    check(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=training), rand(*shape), rand(c, seed=1),
          rand(c, seed=2))
    torch = pytest.importorskip("torch")
    rm, rv = (None, None) if training else (torch.tensor(mean), torch.tensor(var))
    torch_parity(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=training, eps=1e-3),
                 lambda x, g, b: torch.nn.functional.batch_norm(x, rm, rv, g, b, training=training, eps=1e-3),
                 rand(*shape), rand(c, seed=1), rand(c, seed=2))


def test_eval_without_affine_parameters():
    mean, var = rand(3, seed=3), rand(3, seed=4, low=0.5)
    check(lambda x: F.batch_norm(x, mean, var, training=False), rand(4, 3, 2))
    out = F.batch_norm(bp.tensor(rand(4, 3, 2)), mean, var, training=False, eps=0.0).data
    np.testing.assert_allclose(out, (rand(4, 3, 2) - mean[:, None]) / np.sqrt(var[:, None]), atol=1e-12)


def test_gradient_of_the_parameters_alone():
    x, gamma, beta = bp.tensor(rand(5, 2, 3)), leaf(rand(2, seed=1)), leaf(rand(2, seed=2))
    F.batch_norm(x, None, None, gamma, beta, training=True).backward(rand(5, 2, 3, seed=5))
    assert x.grad is None and gamma.grad.shape == beta.grad.shape == (2,)
    assert bp.gradcheck(lambda g, b: F.batch_norm(x, None, None, g, b, training=True), [gamma, beta])


def test_running_statistics_of_an_image_batch_count_every_pixel():
    x = rand(3, 2, 4, 5)
    mean, var = np.full(2, 0.5), np.full(2, 2.0)
    F.batch_norm(bp.tensor(x), mean, var, training=True, momentum=0.3)
    per_channel = x.transpose(1, 0, 2, 3).reshape(2, -1)  # m = N·H·W = 60 values per channel
    np.testing.assert_allclose(mean, 0.7 * 0.5 + 0.3 * per_channel.mean(1))
    np.testing.assert_allclose(var, 0.7 * 2.0 + 0.3 * per_channel.var(1, ddof=1))


@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32_and_the_input_is_not_modified(training):
    x = bp.randn(4, 3, 2)
    before = x.data.copy()
    mean, var = np.zeros(3), np.ones(3)  # float64 statistics, as np.zeros makes them
    out = F.batch_norm(x, mean, var, bp.ones(3), bp.zeros(3), training=training)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(x.data, before)


def test_eval_needs_running_statistics():
    with pytest.raises(ValueError, match="evaluation mode needs running_mean and running_var"):
        F.batch_norm(bp.randn(4, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: input must be \(N, C\), \(N, C, L\) or \(N, C, H, W\), "
                                         r"got shape \(4,\)"):
        F.batch_norm(bp.randn(4), None, None, training=True)
