"""Loss layers: every option against torch (outputs and gradients in float64), gradcheck, state
dicts, reprs and the errors users meet first."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
from bprop import nn

LABELS = np.array([0, 2, 1, 1, 2])
SPATIAL = np.array([[[0, 1], [2, 2], [1, 0]], [[2, 0], [1, 1], [0, 2]]])  # (2, 3, 2) for logits (2, 3, 3, 2)
WEIGHT = np.array([0.3, 1.0, 2.5])


def probabilities(*shape, axis=1, seed=0):
    p = np.random.default_rng(seed).random(shape) + 0.1
    return p / p.sum(axis, keepdims=True)


def to_torch(torch, value):
    return torch.tensor(value) if isinstance(value, np.ndarray) else value


def assert_layer_matches_torch(name, kwargs, *arrays, target=None):
    """nn.<name>(**kwargs) and torch.nn.<name>(**kwargs) on the same inputs: outputs and input grads."""
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**kwargs)
    ref = getattr(torch.nn, name)(**{k: to_torch(torch, v) for k, v in kwargs.items()})
    if target is None:  # every array is an input that gets a gradient (the target included)
        torch_parity(ours, ref, *arrays)
    else:
        torch_parity(lambda x: ours(x, target), lambda x: ref(x, torch.tensor(target)), *arrays)


CROSS_ENTROPY = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(label_smoothing=0.15),
    dict(weight=WEIGHT),
    dict(ignore_index=1),
    dict(weight=WEIGHT, ignore_index=0, label_smoothing=0.3),
    dict(weight=WEIGHT, reduction="none", label_smoothing=0.2),
]


@pytest.mark.parametrize("kwargs", CROSS_ENTROPY, ids=str)
def test_cross_entropy_loss_with_class_labels(kwargs):
    assert_layer_matches_torch("CrossEntropyLoss", kwargs, rand(5, 3), target=LABELS)
    assert_layer_matches_torch("CrossEntropyLoss", kwargs, rand(2, 3, 3, 2), target=SPATIAL)
    layer = nn.CrossEntropyLoss(**kwargs)
    check(lambda x: layer(x, SPATIAL), rand(2, 3, 3, 2))


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(reduction="sum"), dict(reduction="none"), dict(label_smoothing=0.2), dict(weight=WEIGHT)],
    ids=str,
)
def test_cross_entropy_loss_with_probability_targets(kwargs):
    assert_layer_matches_torch("CrossEntropyLoss", kwargs, rand(4, 3), target=probabilities(4, 3))
    assert_layer_matches_torch("CrossEntropyLoss", kwargs, rand(2, 3, 2, 2), target=probabilities(2, 3, 2, 2))


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(reduction="sum"), dict(reduction="none"), dict(weight=WEIGHT), dict(ignore_index=2, weight=WEIGHT)],
    ids=str,
)
def test_nll_loss(kwargs):
    assert_layer_matches_torch("NLLLoss", kwargs, rand(5, 3), target=LABELS)
    assert_layer_matches_torch("NLLLoss", kwargs, rand(2, 3, 3, 2), target=SPATIAL)
    log_softmax, nll = nn.LogSoftmax(dim=1), nn.NLLLoss(**kwargs)
    check(lambda x: nll(log_softmax(x), LABELS), rand(5, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_with_the_target_requiring_grad(reduction):
    assert_layer_matches_torch("MSELoss", dict(reduction=reduction), rand(3, 5), rand(3, 5, seed=1))
    assert_layer_matches_torch("MSELoss", dict(reduction=reduction), rand(2, 1, 3), target=rand(2, 1, 3, seed=1))
    layer = nn.MSELoss(reduction=reduction)
    check(lambda y, t: layer(y, t), rand(3, 5), rand(3, 5, seed=1))


REGRESSION = [
    ("L1Loss", dict()),
    ("L1Loss", dict(reduction="sum")),
    ("SmoothL1Loss", dict(beta=0.5)),
    ("SmoothL1Loss", dict(reduction="none", beta=0.0)),
    ("HuberLoss", dict(delta=0.7)),
    ("HuberLoss", dict(reduction="sum", delta=2.0)),
]


@pytest.mark.parametrize("name,kwargs", REGRESSION, ids=str)
def test_regression_losses_with_the_target_requiring_grad(name, kwargs):
    y, t = rand(3, 5) * 2, rand(3, 5, seed=1)
    assert_layer_matches_torch(name, kwargs, y, t)
    layer = getattr(nn, name)(**kwargs)
    check(lambda y, t: layer(y, t), y, t)


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction="batchmean"), dict(reduction="sum", log_target=True)])
def test_kl_div_loss(kwargs):
    target = probabilities(4, 3)
    if kwargs.get("log_target"):
        target = np.log(target)
    log_q = np.log(probabilities(4, 3, seed=1))
    assert_layer_matches_torch("KLDivLoss", kwargs, log_q, target)


def test_deprecated_size_average_and_reduce_pick_the_reduction_as_in_torch():
    torch = pytest.importorskip("torch")
    y, t = rand(3, 4), rand(3, 4, seed=1)
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        ours = nn.L1Loss(size_average, reduce)(bp.tensor(y), t)
        theirs = torch.nn.L1Loss(size_average, reduce)(torch.tensor(y), torch.tensor(t))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_unbatched_class_scores_take_a_0d_label_or_probabilities():
    torch = pytest.importorskip("torch")
    x, probs = rand(4), probabilities(1, 4)[0]
    for reduction in ("mean", "sum", "none"):
        for target in (np.array(2), probs):
            ours = bp.tensor(x, requires_grad=True)
            loss = nn.functional.cross_entropy(ours, target, reduction=reduction)
            theirs = torch.tensor(x, requires_grad=True)
            expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(target), reduction=reduction)
            assert loss.shape == () and np.allclose(loss.item(), expected.item())
            loss.backward()
            expected.backward()
            np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), atol=1e-12)
        nll = nn.NLLLoss(reduction=reduction)(bp.tensor(x), np.array(1))
        assert nll.shape == () and nll.item() == -x[1]


BCE = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(weight=np.array([0.5, 1.0, 2.0])),
    dict(pos_weight=np.array([3.0, 1.0, 0.2])),
    dict(weight=np.array([[0.5], [1.0], [2.0], [0.3]]), pos_weight=np.array([3.0, 1.0, 0.2]), reduction="sum"),
]


@pytest.mark.parametrize("kwargs", BCE, ids=str)
def test_bce_with_logits_loss_with_the_target_requiring_grad(kwargs):
    assert_layer_matches_torch("BCEWithLogitsLoss", kwargs, rand(4, 3) * 3, probabilities(4, 3))
    layer = nn.BCEWithLogitsLoss(**kwargs)
    check(lambda x, t: layer(x, t), rand(4, 3) * 3, probabilities(4, 3))


def test_weights_may_be_tensors_and_float32_stays_float32():
    x = bp.randn(5, 3, requires_grad=True)
    with_tensor = nn.CrossEntropyLoss(weight=bp.tensor(WEIGHT))(x, LABELS)
    with_array = nn.CrossEntropyLoss(weight=WEIGHT)(x, LABELS)
    assert with_tensor.item() == with_array.item() and with_tensor.dtype == np.float32
    for loss in (nn.MSELoss(), nn.BCEWithLogitsLoss(pos_weight=np.ones(3))):
        assert loss(x, np.zeros((5, 3))).dtype == np.float32


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("CrossEntropyLoss", dict(weight=WEIGHT)),
        ("NLLLoss", dict(weight=WEIGHT)),
        ("BCEWithLogitsLoss", dict(weight=WEIGHT, pos_weight=WEIGHT)),
        ("CrossEntropyLoss", {}),
        ("MSELoss", {}),
    ],
)
def test_state_dict_and_repr_match_torch(name, kwargs):
    """torch keeps the class weights as buffers: they are in the state dict and follow .to(dtype)."""
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**kwargs)
    ref = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
    assert list(ours.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())
    assert list(ours.parameters()) == []
    assert repr(ours) == repr(ref)


def test_cross_entropy_loss_errors():
    with pytest.raises(
        IndexError,
        match=r"cross_entropy: target label 7 is out of range for 3 classes "
        r"\(labels must be in \[0, 2\]\)",
    ):
        nn.CrossEntropyLoss()(bp.randn(4, 3), np.array([0, 7, 1, 2]))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: probability targets must have the input's shape "
        r"\(4, 3\), got \(4, 3, 1\)",
    ):
        nn.CrossEntropyLoss()(bp.randn(4, 3), np.zeros((4, 3, 1)))
    with pytest.raises(
        ValueError,
        match=r"class targets should have shape \(2, 3, 2\) for input \(2, 3, 3, 2\), "
        r"got \(2, 3\)",
    ):
        nn.CrossEntropyLoss()(bp.randn(2, 3, 3, 2), np.zeros((2, 3), int))


def test_mse_and_bce_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(8, 1\) and target shape \(8,\) differ"):
        nn.MSELoss()(bp.randn(8, 1), np.zeros(8))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: input shape \(8,\) and target shape "
        r"\(8, 1\) differ",
    ):
        nn.BCEWithLogitsLoss()(bp.randn(8), np.zeros((8, 1)))
