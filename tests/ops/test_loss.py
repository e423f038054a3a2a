"""MSE and BCE with logits beyond the op table (op_db.py checks reductions, weights, pos_weight,
shapes, extremes and NaN against torch and reference.py): the sign of the MSE gradient, targets
without grad, mixed dtypes, empty batches, and errors shared by every loss."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F


def test_mse_gradient_keeps_the_sign():
    y = bp.tensor(np.array([1.0, 3.0]), requires_grad=True)
    F.mse_loss(y, np.array([2.0, 2.0])).backward()
    np.testing.assert_allclose(y.grad, [-1.0, 1.0])  # 2(y − t)/N, no absolute value


def test_bce_is_stable_for_large_logits():
    loss = F.binary_cross_entropy_with_logits(bp.tensor([1000.0, -1000.0]), np.array([0.0, 1.0]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1000.0)


def test_loss_errors_name_the_problem():
    x = bp.randn(4, 3)
    with pytest.raises(IndexError, match=r"target label 3 is out of range for 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 3, 0]))
    with pytest.raises(IndexError, match="label -2"):
        F.cross_entropy(x, np.array([0, 1, -2, 0]))
    with pytest.raises(ValueError, match=r"probability targets must have the input's shape \(4, 3\), got \(4, 2\)"):
        F.cross_entropy(x, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"class targets should have shape \(4,\)"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"unbatched input \(3,\) takes a 0-d class label"):
        F.cross_entropy(bp.randn(3), np.array([0]))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(bp.tensor(3.0), np.array(0))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match=r"input shape \(4, 3\) and target shape \(4, 1\) differ"):
        F.mse_loss(x, np.zeros((4, 1), np.float32))


def test_mse_target_tensor_without_grad_gets_none():
    y, t = bp.tensor(rand(3, 2), requires_grad=True), bp.tensor(rand(3, 2, seed=1))
    F.mse_loss(y, t).backward()
    assert t.grad is None
    np.testing.assert_allclose(y.grad, (np.asarray(y) - np.asarray(t)) / 3)


def test_bce_pos_weight_broadcasts_over_channels_of_an_image():
    pos_weight = np.array([[[2.0]], [[0.5]], [[1.5]]])  # (C, 1, 1) against (N, C, H, W)
    targets = np.random.default_rng(4).random((2, 3, 2, 2))
    check(lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight), rand(2, 3, 2, 2), targets)
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight),
        lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(pos_weight)),
        rand(2, 3, 2, 2),
        targets,
    )


LOSSES_WITH_FLOAT_TARGETS = [
    lambda x, t, r: F.mse_loss(x, t, r),
    lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r),
    lambda x, t, r: F.cross_entropy(x, t / t.sum(1, keepdims=True), reduction=r),
]


@pytest.mark.parametrize("loss", LOSSES_WITH_FLOAT_TARGETS, ids=["mse", "bce", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float64_numpy_targets_keep_a_float32_loss(loss, reduction):
    """NumPy targets are float64 by default; they must not silently upcast a float32 model."""
    x = bp.randn(4, 3, requires_grad=True)
    out = loss(x, np.random.default_rng(0).random((4, 3)), reduction)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.dtype == np.float32


def test_more_loss_errors_name_the_problem():
    x = bp.randn(4, 3)
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: input shape \(4, 3\) and target shape "
        r"\(4,\) differ",
    ):
        F.binary_cross_entropy_with_logits(x, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class labels, got float64"):
        F.nll_loss(x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="integer class labels or float probabilities, got dtype bool"):
        F.cross_entropy(x, np.ones((4, 3), bool))
    with pytest.raises(IndexError, match=r"target label 5 is out of range for 3 classes"):
        F.cross_entropy(bp.randn(2, 3, 2), np.array([[0, 5], [1, 1]]))
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'batchmean'"):
        F.mse_loss(x, np.zeros((4, 3)), reduction="batchmean")


def test_weights_of_the_wrong_shape_are_errors():
    x = bp.randn(4, 3)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: weight must have one entry per class, shape \(3,\), "
        r"got \(2,\)",
    ):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), weight=np.ones(2))
    with pytest.raises(ValueError, match=r"nll_loss: weight must have one entry per class"):
        F.nll_loss(x, np.array([0, 1, 2, 0]), weight=np.ones((3, 1)))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) does not "
        r"broadcast to the input's shape \(4, 3\)",
    ):
        F.binary_cross_entropy_with_logits(x, np.zeros((4, 3)), pos_weight=np.ones(4))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 4, 3\) does not broadcast"):
        F.binary_cross_entropy_with_logits(x, np.zeros((4, 3)), weight=np.ones((2, 4, 3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_bce_of_an_empty_batch_follow_torch(reduction):
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (F.mse_loss, torch.nn.functional.mse_loss),
        (F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits),
    ]:
        x = leaf(np.zeros((0, 3)))
        out, expected = (
            ours(x, np.zeros((0, 3)), reduction=reduction),
            theirs(torch.zeros(0, 3), torch.zeros(0, 3), reduction=reduction),
        )
        np.testing.assert_array_equal(np.asarray(out), expected.numpy())
        out.backward(np.ones(out.shape))
        assert x.grad.shape == (0, 3)


def test_bce_target_gradient_at_minus_infinity_is_infinite_not_nan():
    """Regression: ∂ℓ/∂t = softplus(−x) − softplus(x) was computed as softplus(−x) − (x + softplus(−x)),
    which is ∞ − (−∞ + ∞) = NaN at x = −∞; torch and the limit give +∞."""
    x, t = bp.tensor([-np.inf, 2.0]), bp.tensor([1.0, 0.5], requires_grad=True)
    F.binary_cross_entropy_with_logits(x, t, reduction="sum").backward()
    assert t.grad[0] == np.inf
    assert np.asarray(t.grad)[1] == pytest.approx(-2.0)


def test_bce_with_logits_at_plus_infinity_is_infinite_as_torch():
    torch = pytest.importorskip("torch")
    logits, target = np.array([np.inf, np.inf, 3.0]), np.array([0.0, 0.5, 1.0])
    ours = F.binary_cross_entropy_with_logits(bp.tensor(logits), bp.tensor(target), reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.tensor(target), reduction="none"
    )
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert np.isposinf(ours.numpy()[:2]).all()
