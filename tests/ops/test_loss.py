"""Losses: gradcheck over reductions, weights, smoothing, ignore_index, spatial and probability
targets; torch parity; errors."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F

LABELS = np.array([0, 2, 1, 2, 0])
SPATIAL = np.array([[[0, 1, 2], [2, 2, 0]], [[1, 0, 0], [2, 1, 1]]])  # (N=2, 2, 3) for logits (2, 3, 2, 3)
CE_OPTIONS = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(label_smoothing=0.2),
    dict(weight=np.array([0.2, 1.0, 3.0])),
    dict(ignore_index=2),
    dict(weight=np.array([0.5, 2.0, 1.0]), label_smoothing=0.1, ignore_index=0),
]


def torch_kwargs(options):
    import torch

    return {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in options.items()}


@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
def test_cross_entropy_gradcheck_and_parity(options):
    check(lambda x: F.cross_entropy(x, LABELS, **options), rand(5, 3))
    check(lambda x: F.cross_entropy(x, SPATIAL, **options), rand(2, 3, 2, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.cross_entropy(x, LABELS, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(LABELS), **torch_kwargs(options)),
        rand(5, 3),
    )
    torch_parity(
        lambda x: F.cross_entropy(x, SPATIAL, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(SPATIAL), **torch_kwargs(options)),
        rand(2, 3, 2, 3),
    )


@pytest.mark.parametrize(
    "options",
    [dict(), dict(label_smoothing=0.3), dict(reduction="none"), dict(weight=np.array([1.0, 2.0, 0.5]))],
    ids=str,
)
def test_cross_entropy_with_probability_targets(options):
    probs = np.random.default_rng(0).dirichlet(np.ones(3), size=4)
    check(lambda x: F.cross_entropy(x, probs, **options), rand(4, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.cross_entropy(x, probs, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(probs), **torch_kwargs(options)),
        rand(4, 3),
    )


def test_cross_entropy_gradient_is_p_minus_onehot_over_n():
    x = bp.tensor(rand(4, 3), requires_grad=True)
    F.cross_entropy(x, LABELS[:4]).backward()
    p = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad, (p - np.eye(3)[LABELS[:4]]) / 4)


def test_cross_entropy_float32_and_stability():
    x = bp.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, np.array([0]))
    assert loss.dtype == np.float32 and np.isfinite(loss.item())
    loss.backward()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "options",
    [dict(), dict(reduction="sum"), dict(weight=np.array([1.0, 0.5, 2.0])), dict(ignore_index=1, reduction="none")],
    ids=str,
)
def test_nll_loss(options):
    check(lambda x: F.nll_loss(x.log_softmax(1), LABELS, **options), rand(5, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.nll_loss(x, LABELS, **options),
        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(LABELS), **torch_kwargs(options)),
        rand(5, 3),
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_both_inputs(reduction):
    check(lambda y, t: F.mse_loss(y, t, reduction), rand(3, 4), rand(3, 4, seed=1))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda y, t: F.mse_loss(y, t, reduction),
        lambda y, t: torch.nn.functional.mse_loss(y, t, reduction=reduction),
        rand(3, 4),
        rand(3, 4, seed=1),
    )


def test_mse_gradient_keeps_the_sign():
    y = bp.tensor(np.array([1.0, 3.0]), requires_grad=True)
    F.mse_loss(y, np.array([2.0, 2.0])).backward()
    np.testing.assert_allclose(y.grad, [-1.0, 1.0])  # 2(y − t)/N, no absolute value


BCE_OPTIONS = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(weight=np.array([0.5, 1.0, 2.0])),
    dict(pos_weight=np.array([3.0, 1.0, 0.2])),
]
# weight and pos_weight together, and a weight per row
BCE_FULL = [
    dict(weight=np.array([[0.5], [1.0], [2.0], [0.1]]), pos_weight=np.array([3.0, 1.0, 0.2])),
    dict(weight=np.array([0.5, 1.0, 2.0]), pos_weight=np.array([0.7, 2.0, 1.0]), reduction="sum"),
    dict(weight=np.array([0.5, 1.0, 2.0]), pos_weight=np.array([0.7, 2.0, 1.0]), reduction="none"),
]


@pytest.mark.parametrize("options", BCE_OPTIONS + BCE_FULL, ids=str)
def test_bce_with_logits(options):
    targets = np.random.default_rng(2).random((4, 3))
    check(lambda x, t: F.binary_cross_entropy_with_logits(x, t, **options), rand(4, 3) * 3, targets)
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, **options),
        lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(x, t, **torch_kwargs(options)),
        rand(4, 3) * 3,
        targets,
    )


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
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(bp.randn(3), np.array([0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match=r"input shape \(4, 3\) and target shape \(4, 1\) differ"):
        F.mse_loss(x, np.zeros((4, 1), np.float32))


LINE = np.array([[0, 3, 1, 1, 2], [3, 3, 0, 2, 1]])  # (N=2, d1=5) for logits (2, 4, 5)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(reduction="sum"),
        dict(reduction="none"),
        dict(label_smoothing=0.25, weight=np.array([1.0, 0.3, 2.0, 0.7])),
        dict(ignore_index=3, reduction="sum"),
    ],
    ids=str,
)
def test_cross_entropy_over_a_sequence_dim(options):
    check(lambda x: F.cross_entropy(x, LINE, **options), rand(2, 4, 5))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.cross_entropy(x, LINE, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(LINE), **torch_kwargs(options)),
        rand(2, 4, 5),
    )


def spatial_probabilities():
    """(N=2, C=3, 2, 3) targets whose class axis (1) sums to one."""
    return np.random.default_rng(5).dirichlet(np.ones(3), size=(2, 2, 3)).transpose(0, 3, 1, 2).copy()


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(reduction="sum"),
        dict(reduction="none"),
        dict(label_smoothing=0.4),
        dict(weight=np.array([0.3, 1.0, 2.5]), reduction="mean"),
    ],
    ids=str,
)
def test_cross_entropy_with_spatial_probability_targets(options):
    probs = spatial_probabilities()
    check(lambda x: F.cross_entropy(x, probs, **options), rand(2, 3, 2, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.cross_entropy(x, probs, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(probs), **torch_kwargs(options)),
        rand(2, 3, 2, 3),
    )


def test_cross_entropy_mean_divides_by_the_weights_of_the_kept_targets():
    x, weight = rand(5, 3), np.array([0.2, 1.0, 3.0])
    per_row = F.cross_entropy(bp.tensor(x), LABELS, weight=weight, ignore_index=2, reduction="none").data
    kept = LABELS != 2
    assert per_row[~kept].tolist() == [0.0, 0.0]
    mean = F.cross_entropy(bp.tensor(x), LABELS, weight=weight, ignore_index=2).item()
    assert mean == pytest.approx(per_row.sum() / weight[LABELS[kept]].sum(), rel=1e-12)


def test_cross_entropy_with_label_smoothing_one_is_the_uniform_target():
    x = rand(4, 3)
    smoothed = F.cross_entropy(bp.tensor(x), LABELS[:4], label_smoothing=1.0).item()
    uniform = F.cross_entropy(bp.tensor(x), np.full((4, 3), 1 / 3)).item()
    assert smoothed == pytest.approx(uniform, rel=1e-12)


@pytest.mark.parametrize(
    "options",
    [dict(), dict(reduction="sum"), dict(reduction="none"), dict(weight=np.array([0.4, 1.0, 2.0]), ignore_index=0)],
    ids=str,
)
def test_nll_loss_over_spatial_dims(options):
    check(lambda x: F.nll_loss(x, SPATIAL, **options), rand(2, 3, 2, 3))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.nll_loss(x, SPATIAL, **options),
        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(SPATIAL), **torch_kwargs(options)),
        rand(2, 3, 2, 3),
    )


@pytest.mark.parametrize("shape", [(7,), (1, 1), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_shapes_with_the_target_requiring_grad(shape, reduction):
    y, t = rand(*shape), rand(*shape, seed=1)
    check(lambda y, t: F.mse_loss(y, t, reduction), y, t)
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda y, t: F.mse_loss(y, t, reduction),
        lambda y, t: torch.nn.functional.mse_loss(y, t, reduction=reduction),
        y,
        t,
    )


def test_mse_target_tensor_without_grad_gets_none():
    y, t = bp.tensor(rand(3, 2), requires_grad=True), bp.tensor(rand(3, 2, seed=1))
    F.mse_loss(y, t).backward()
    assert t.grad is None
    np.testing.assert_allclose(y.grad, (y.data - t.data) / 3)


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


CUBE = np.array([[[[0, 2], [1, 1]], [[2, 0], [0, 1]]]])  # (N=1, 2, 2, 2) labels for logits (1, 3, 2, 2, 2)


@pytest.mark.parametrize(
    "options",
    [dict(), dict(reduction="none"), dict(weight=np.array([2.0, 0.5, 1.0]), label_smoothing=0.3, ignore_index=1)],
    ids=str,
)
def test_cross_entropy_over_three_spatial_dims_and_non_contiguous_logits(options):
    check(lambda x: F.cross_entropy(x, CUBE, **options), rand(1, 3, 2, 2, 2))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: F.cross_entropy(x, CUBE, **options),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(CUBE), **torch_kwargs(options)),
        rand(1, 3, 2, 2, 2),
    )
    channels_last = leaf(rand(1, 2, 2, 2, 3))  # seen as (N, C, D, H, W): a strided view, as after a channels-last conv
    contiguous = leaf(np.moveaxis(channels_last.data, -1, 1).copy())
    view = channels_last.permute(0, 4, 1, 2, 3)
    assert not view.data.flags.c_contiguous
    g = np.ones(F.cross_entropy(contiguous, CUBE, **options).shape)
    out, expected = F.cross_entropy(view, CUBE, **options), F.cross_entropy(contiguous, CUBE, **options)
    out.backward(g)
    expected.backward(g)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-14)
    np.testing.assert_allclose(np.moveaxis(channels_last.grad, -1, 1), contiguous.grad, rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_single_class_and_odd_batch_sizes(reduction):
    """C = 1: every label is 0, p = 1, the loss and the gradient are exactly 0."""
    for n in (1, 7):
        x = bp.tensor(rand(n, 1), requires_grad=True)
        loss = F.cross_entropy(x, np.zeros(n, np.int64), reduction=reduction)
        loss.backward(np.ones(loss.shape))
        assert np.all(loss.data == 0) and np.all(x.grad == 0)
    check(
        lambda x: F.cross_entropy(x, np.array([0, 4, 2, 4, 1, 3, 0]), reduction=reduction, label_smoothing=0.1),
        rand(7, 5),
    )


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("labels", [np.array([-100, -100, -100]), np.zeros(0, np.int64)], ids=["ignored", "empty"])
def test_a_mean_over_no_target_is_nan_with_zero_gradients_like_torch(loss, labels):
    torch = pytest.importorskip("torch")
    x = rand(len(labels), 4)
    ours, ref = leaf(x), torch.tensor(x, requires_grad=True)
    out, expected = loss(ours, labels), getattr(torch.nn.functional, loss.__name__)(ref, torch.tensor(labels))
    assert np.isnan(out.item()) and np.isnan(expected.item())
    out.backward()
    expected.backward()
    np.testing.assert_array_equal(ours.grad, ref.grad.numpy())


def test_backward_twice_with_retain_graph_gives_the_same_gradient():
    """The saved softmax must not be consumed by the first backward."""
    for target in (LABELS, np.random.default_rng(0).dirichlet(np.ones(3), size=5)):
        x = leaf(rand(5, 3))
        loss = F.cross_entropy(x, target, label_smoothing=0.1)
        loss.backward(retain_graph=True)
        first = x.grad.copy()
        loss.backward()
        np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-14)


def test_float32_logits_give_float32_loss_and_gradient_on_every_path():
    x = bp.randn(2, 3, 4, requires_grad=True)
    for target, options in [
        (np.array([[0, 1, 2, 1], [2, 2, 0, 1]]), dict(weight=np.ones(3), ignore_index=1, label_smoothing=0.2)),
        (np.full((2, 3, 4), 1 / 3), dict(weight=np.arange(3.0))),
    ]:
        loss = F.cross_entropy(x, target, **options)
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32
        x.grad = None
    nll = F.nll_loss(x, np.array([[0, 1, 2, 1], [2, 2, 0, 1]]), weight=np.ones(3))
    nll.backward()
    assert nll.dtype == x.grad.dtype == np.float32


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


def test_integer_one_hot_targets_are_not_mistaken_for_probabilities():
    with pytest.raises(
        ValueError,
        match=r"class targets should have shape \(4,\) for input \(4, 3\), got \(4, 3\) "
        r"\(probability targets must be floating point\)",
    ):
        F.cross_entropy(bp.randn(4, 3), np.eye(3, dtype=np.int64)[[0, 1, 2, 0]])
    with pytest.raises(IndexError, match="target label -1 is out of range for 3 classes"):
        F.nll_loss(bp.randn(2, 3), np.array([-1, 0]))


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
        np.testing.assert_array_equal(out.data, expected.numpy())
        out.backward(np.ones(out.shape))
        assert x.grad.shape == (0, 3)
