"""Cross-entropy and NLL beyond the op table (op_db.py checks reductions, weights, smoothing,
ignore_index, spatial and sequence dims against torch and reference.py): probability targets,
δ = (p − onehot)/N, the weighted mean, non-contiguous logits, single classes, empty means,
float32 paths and errors."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_kwargs, torch_parity

import bprop as bp
import bprop.nn.functional as F

LABELS = np.array([0, 2, 1, 2, 0])
SPATIAL = np.array([[[0, 1, 2], [2, 2, 0]], [[1, 0, 0], [2, 1, 1]]])  # (N=2, 2, 3) for logits (2, 3, 2, 3)


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
    p = np.exp(np.asarray(x)) / np.exp(np.asarray(x)).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad, (p - np.eye(3)[LABELS[:4]]) / 4)


def test_cross_entropy_float32_and_stability():
    x = bp.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, np.array([0]))
    assert loss.dtype == np.float32 and np.isfinite(loss.item())
    loss.backward()
    assert np.isfinite(x.grad).all()


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
    per_row = np.asarray(F.cross_entropy(bp.tensor(x), LABELS, weight=weight, ignore_index=2, reduction="none"))
    kept = LABELS != 2
    assert per_row[~kept].tolist() == [0.0, 0.0]
    mean = F.cross_entropy(bp.tensor(x), LABELS, weight=weight, ignore_index=2).item()
    assert mean == pytest.approx(per_row.sum() / weight[LABELS[kept]].sum(), rel=1e-12)


def test_cross_entropy_with_label_smoothing_one_is_the_uniform_target():
    x = rand(4, 3)
    smoothed = F.cross_entropy(bp.tensor(x), LABELS[:4], label_smoothing=1.0).item()
    uniform = F.cross_entropy(bp.tensor(x), np.full((4, 3), 1 / 3)).item()
    assert smoothed == pytest.approx(uniform, rel=1e-12)


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
    contiguous = leaf(np.moveaxis(np.asarray(channels_last), -1, 1).copy())
    view = channels_last.permute(0, 4, 1, 2, 3)
    assert not np.asarray(view).flags.c_contiguous
    g = np.ones(F.cross_entropy(contiguous, CUBE, **options).shape)
    out, expected = F.cross_entropy(view, CUBE, **options), F.cross_entropy(contiguous, CUBE, **options)
    out.backward(g)
    expected.backward(g)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-14)
    np.testing.assert_allclose(np.moveaxis(np.asarray(channels_last.grad), -1, 1), contiguous.grad, rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_single_class_and_odd_batch_sizes(reduction):
    """C = 1: every label is 0, p = 1, the loss and the gradient are exactly 0."""
    for n in (1, 7):
        x = bp.tensor(rand(n, 1), requires_grad=True)
        loss = F.cross_entropy(x, np.zeros(n, np.int64), reduction=reduction)
        loss.backward(np.ones(loss.shape))
        assert np.all(np.asarray(loss) == 0) and np.all(x.grad == 0)
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
        first = np.array(x.grad)
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


def test_integer_one_hot_targets_are_not_mistaken_for_probabilities():
    with pytest.raises(
        ValueError,
        match=r"class targets should have shape \(4,\) for input \(4, 3\), got \(4, 3\) "
        r"\(probability targets must be floating point\)",
    ):
        F.cross_entropy(bp.randn(4, 3), np.eye(3, dtype=np.int64)[[0, 1, 2, 0]])
    with pytest.raises(IndexError, match="target label -1 is out of range for 3 classes"):
        F.nll_loss(bp.randn(2, 3), np.array([-1, 0]))


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(reduction="sum"),
        dict(reduction="none"),
        dict(label_smoothing=0.2, weight=np.array([0.5, 2.0, 1.0])),
    ],
    ids=str,
)
def test_probability_targets_that_require_grad_get_their_gradient(options):
    """Issue 11 #4: target.grad stayed None; ∂L_i/∂T_ic = −(1 − ε)·w_c·log p_ic, as torch."""
    rng = np.random.default_rng(3)
    logits, probs = rng.standard_normal((4, 3, 2)), rng.dirichlet(np.ones(3), size=(4, 2)).transpose(0, 2, 1)
    x, t = leaf(logits), leaf(probs)
    out = F.cross_entropy(x, t, **options)
    out.backward(np.ones(out.shape))
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    eps, w = options.get("label_smoothing", 0.0), options.get("weight", np.ones(3))[None, :, None]
    per_position = 1 / 8 if options.get("reduction", "mean") == "mean" else 1.0
    np.testing.assert_allclose(t.grad, -(1 - eps) * w * log_p * per_position, rtol=1e-13)
    check(lambda a, b: F.cross_entropy(a, b, **options), logits, probs)  # both inputs, random upstream
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda a, b: F.cross_entropy(a, b, **options),
        lambda a, b: torch.nn.functional.cross_entropy(a, b, **torch_kwargs(options)),
        logits,
        probs,
    )


def test_a_float32_target_requiring_grad_gets_a_float32_gradient():
    x, t = bp.randn(3, 4, requires_grad=True), bp.tensor(np.full((3, 4), 0.25, np.float32), requires_grad=True)
    F.cross_entropy(x, t).backward()
    assert t.grad.dtype == np.float32 and t.grad.shape == (3, 4)
