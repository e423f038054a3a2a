"""The batch-norm ops beyond the op table (op_db.py checks both modes over (N, C), (N, C, L) and
(N, C, H, W), odd and size-1 dims, without affine parameters, against torch and reference.py):
running statistics, mixed dtypes, memory layouts, retain_graph and errors."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F


def test_running_statistics_are_updated_in_place_with_the_unbiased_variance():
    x = rand(8, 3)
    mean, var = np.zeros(3), np.ones(3)
    F.batch_norm(bp.tensor(x), mean, var, training=True, momentum=0.1)
    np.testing.assert_allclose(mean, 0.1 * x.mean(0))
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0, ddof=1))


def test_one_value_per_channel_is_an_error_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(bp.randn(1, 4), None, None, training=True)


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
    before = np.array(np.asarray(x))
    mean, var = np.zeros(3), np.ones(3)  # float64 statistics, as np.zeros makes them
    out = F.batch_norm(x, mean, var, bp.ones(3), bp.zeros(3), training=training)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(x), before)


def test_eval_needs_running_statistics():
    with pytest.raises(ValueError, match="evaluation mode needs running_mean and running_var"):
        F.batch_norm(bp.randn(4, 3), None, None, training=False)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: input must be \(N, C\), \(N, C, L\) or \(N, C, H, W\), "
        r"got shape \(4,\)",
    ):
        F.batch_norm(bp.randn(4), None, None, training=True)


def channels_last_pair(shape_nhwc, seed=0):
    """The same values as an NCHW view of an NHWC buffer (strided) and as a contiguous NCHW leaf."""
    nhwc = leaf(rand(*shape_nhwc, seed=seed))
    return nhwc, nhwc.permute(0, 3, 1, 2), leaf(np.moveaxis(np.asarray(nhwc), -1, 1).copy())


@pytest.mark.parametrize("training", [True, False])
def test_a_channels_last_view_needs_no_copy_and_matches_contiguous(training):
    """Strided input (an NHWC buffer seen as NCHW) reduces over the right axes, gradient included."""
    mean, var = (None, None) if training else (rand(3, seed=3), rand(3, seed=4, low=0.5))
    nhwc, view, contiguous = channels_last_pair((2, 4, 5, 3))
    assert not np.asarray(view).flags.c_contiguous
    g = rand(2, 3, 4, 5, seed=7)
    out = F.batch_norm(view, mean, var, training=training)
    out.backward(g)
    expected = F.batch_norm(contiguous, mean, var, training=training)
    expected.backward(g)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.moveaxis(np.asarray(nhwc.grad), -1, 1), contiguous.grad, rtol=1e-10, atol=1e-12)
    check(lambda x: F.batch_norm(x.permute(0, 3, 1, 2), mean, var, training=training), rand(2, 4, 5, 3))


@pytest.mark.parametrize("training", [True, False])
def test_five_dims_match_torch(training):
    torch = pytest.importorskip("torch")
    mean, var = (None, None) if training else (rand(3, seed=3), rand(3, seed=4, low=0.5))
    tmean, tvar = (None, None) if training else (torch.tensor(mean), torch.tensor(var))
    torch_parity(
        lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=training),
        lambda x, g, b: torch.nn.functional.batch_norm(x, tmean, tvar, g, b, training=training),
        rand(2, 3, 2, 3, 2),
        rand(3, seed=1),
        rand(3, seed=2),
    )


@pytest.mark.parametrize("training", [True, False])
def test_backward_twice_with_retain_graph_gives_the_same_gradients(training):
    x, g, b = leaf(rand(4, 3, 2)), leaf(rand(3, seed=1)), leaf(rand(3, seed=2))
    out = F.batch_norm(x, np.zeros(3), np.ones(3), g, b, training=training)
    out.backward(rand(4, 3, 2, seed=7), retain_graph=True)
    first = [np.array(t.grad) for t in (x, g, b)]
    out.backward(rand(4, 3, 2, seed=7))
    for t, once in zip((x, g, b), first):
        np.testing.assert_allclose(t.grad, 2 * once, rtol=1e-12)


def test_eval_backward_uses_the_statistics_of_its_forward():
    """A training step may update the running arrays in place between an eval forward and its backward."""
    mean, var, x = np.zeros(3), np.ones(3), leaf(rand(5, 3))
    gamma = leaf(np.ones(3))
    out = F.batch_norm(x, mean, var, gamma, training=False, eps=0.0)
    F.batch_norm(bp.tensor(rand(6, 3, seed=1) * 3 + 2), mean, var, training=True, momentum=0.5)
    out.backward(np.ones((5, 3)))
    np.testing.assert_allclose(gamma.grad, np.asarray(x).sum(0))  # x̂ = x with the forward's mean 0 and var 1
    np.testing.assert_allclose(x.grad, np.ones((5, 3)))


def test_float32_statistics_of_a_far_from_zero_batch_stay_accurate():
    """x = 1000 + noise in float32: centring before squaring keeps the variance (E[x²] − μ² would not)."""
    noise = rand(64, 4)
    x = (1000.0 + noise).astype(np.float32)
    out = np.asarray(F.batch_norm(bp.tensor(x), None, None, training=True, eps=0.0))
    expected = (x.astype(np.float64) - x.astype(np.float64).mean(0)) / x.astype(np.float64).std(0)
    np.testing.assert_allclose(out, expected, atol=2e-3)


def test_per_channel_arrays_of_the_wrong_shape_are_errors():
    x = bp.randn(4, 3, 2)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: weight must have one entry per channel, shape \(3,\) for "
        r"input of shape \(4, 3, 2\), got \(2,\)",
    ):
        F.batch_norm(x, None, None, bp.ones(2), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_var must have one entry per channel.*got \(3, 1\)"):
        F.batch_norm(x, np.zeros(3), np.ones((3, 1)), training=False)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have one entry per channel.*got \(4,\)"):
        F.batch_norm(x, np.zeros(4), np.ones(3), training=True)
