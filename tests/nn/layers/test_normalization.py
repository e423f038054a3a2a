"""BatchNorm1d/2d layers: torch parity over several training steps and in eval mode (outputs,
gradients, running statistics and num_batches_tracked), gradcheck, options, errors."""

import numpy as np
import pytest
from tests.helpers import check, rand

import bprop as bp
from bprop import nn

LAYOUTS = [
    ("BatchNorm1d", (6, 4)),
    ("BatchNorm1d", (5, 4, 3)),
    ("BatchNorm1d", (3, 4, 1)),
    ("BatchNorm2d", (3, 4, 5, 2)),
    ("BatchNorm2d", (1, 4, 3, 3)),
    ("BatchNorm2d", (2, 4, 1, 1)),
]
IDS = [f"{name}{shape}" for name, shape in LAYOUTS]


def torch_pair(torch, name, rng, **kwargs):
    """The same layer in bprop and torch, float64, with random γ and β when affine."""
    ours = getattr(nn, name)(4, **kwargs).to(np.float64)
    ref = getattr(torch.nn, name)(4, **kwargs).double()
    if ref.affine:
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(rng.standard_normal(4)))
            if ref.bias is not None:
                ref.bias.copy_(torch.tensor(rng.standard_normal(4)))
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    return ours, ref


def step_both(torch, ours, ref, x, g):
    """One forward and backward on both; outputs and every gradient must agree."""
    xt, tt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), ref(tt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-7, atol=1e-10)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad, tt.grad.numpy(), rtol=1e-7, atol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)
    ours.zero_grad()
    ref.zero_grad()


def assert_same_state(ours, ref):
    theirs = ref.state_dict()
    assert list(ours.state_dict()) == list(theirs)
    for key, value in theirs.items():
        mine = ours.state_dict()[key]
        assert mine.dtype == value.numpy().dtype, key
        np.testing.assert_allclose(mine, value.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("name,shape", LAYOUTS, ids=IDS)
@pytest.mark.parametrize("momentum", [0.1, 0.6, None])
def test_training_then_eval_matches_torch(name, shape, momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, ref = torch_pair(torch, name, rng, momentum=momentum)
    for step in range(4):  # shifting batches, so that the running statistics really move
        step_both(torch, ours, ref, rng.standard_normal(shape) * (step + 1) + step, rng.standard_normal(shape))
    assert_same_state(ours, ref)
    assert int(ours.num_batches_tracked) == 4
    ours.eval()
    ref.eval()
    for _ in range(2):  # eval: fixed statistics, gradients of x, γ and β; nothing is tracked
        step_both(torch, ours, ref, rng.standard_normal(shape), rng.standard_normal(shape))
    assert_same_state(ours, ref)


@pytest.mark.parametrize(
    "kwargs",
    [dict(affine=False), dict(track_running_stats=False), dict(affine=False, track_running_stats=False), dict(eps=0.1)],
    ids=str,
)
def test_options_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours, ref = torch_pair(torch, "BatchNorm2d", rng, **kwargs)
    for mode in ("train", "train", "eval"):
        getattr(ours, mode)()
        getattr(ref, mode)()
        step_both(torch, ours, ref, rng.standard_normal((3, 4, 2, 3)) + 1, rng.standard_normal((3, 4, 2, 3)))
    assert_same_state(ours, ref)
    assert repr(ours) == repr(ref)


@pytest.mark.parametrize("name,shape", LAYOUTS, ids=IDS)
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_of_input_and_parameters(name, shape, training):
    layer = getattr(nn, name)(4).to(np.float64)
    layer.running_mean[...] = rand(4, seed=5)
    layer.running_var[...] = rand(4, seed=6, low=0.5)
    layer.train(training)
    layer.weight.data[...] = rand(4, seed=1)
    layer.bias.data[...] = rand(4, seed=2)
    assert bp.gradcheck(
        lambda x, w, b: layer(x), [bp.tensor(rand(*shape), requires_grad=True), layer.weight, layer.bias]
    )


def test_momentum_none_is_the_cumulative_average():
    layer = nn.BatchNorm1d(2, momentum=None).to(np.float64)
    batches = [rand(5, 2, seed=s) + s for s in range(3)]
    for x in batches:
        layer(bp.tensor(x))
    np.testing.assert_allclose(layer.running_mean, np.mean([x.mean(0) for x in batches], axis=0), atol=1e-12)
    np.testing.assert_allclose(layer.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0), atol=1e-12)


def test_eval_does_not_track_and_accepts_a_batch_of_one():
    layer = nn.BatchNorm1d(3)
    layer(bp.randn(4, 3))
    before = layer.state_dict()
    layer.eval()
    out = layer(bp.randn(1, 3))
    assert out.shape == (1, 3) and out.dtype == np.float32
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_float32_by_default_with_torchs_keys():
    layer = nn.BatchNorm2d(3)
    assert layer(bp.randn(2, 3, 2, 2)).dtype == np.float32
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert layer.num_batches_tracked.dtype == np.int64 and layer.running_var.dtype == np.float32
    assert layer.to(np.float64).num_batches_tracked.dtype == np.int64


def test_layer_and_channel_errors():
    with pytest.raises(
        ValueError,
        match=r"BatchNorm1d\(64\): expected input \(N, C\) or \(N, C, L\) with C = 64, "
        r"got shape \(32, 10\)",
    ):
        nn.BatchNorm1d(64)(bp.zeros(32, 10))
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d\(3\): expected input \(N, C, H, W\) with C = 3, "
        r"got shape \(2, 4, 5, 5\)",
    ):
        nn.BatchNorm2d(3)(bp.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input \(N, C, H, W\).*got shape \(2, 3, 5\)"):
        nn.BatchNorm2d(3)(bp.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*got shape \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(bp.zeros(2, 3, 4, 4))


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: nn.BatchNorm1d(3), (1, 3)),
        (lambda: nn.BatchNorm1d(3), (1, 3, 1)),
        (lambda: nn.BatchNorm2d(3), (1, 3, 1, 1)),
    ],
)
def test_batch_of_one_value_per_channel_is_an_error_in_training(make, shape):
    with pytest.raises(
        ValueError,
        match=r"expected more than 1 value per channel when training, got input of "
        r"shape \(1, 3",
    ):
        make()(bp.zeros(*shape))


def test_without_running_statistics_batch_statistics_are_used_in_eval():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and bn.state_dict() == {}
    bn.eval()
    out = bn(bp.tensor(np.arange(6.0).reshape(2, 3)))
    np.testing.assert_allclose(out.data, [[-1, -1, -1], [1, 1, 1]], atol=1e-4)
    check(lambda x: bn(x), rand(4, 3))


def test_bias_false_keeps_the_scale_only_like_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ours, ref = torch_pair(torch, "BatchNorm1d", rng, bias=False)
    assert ours.bias is None and [n for n, _ in ours.named_parameters()] == ["weight"]
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(ref, mode)()
        step_both(torch, ours, ref, rng.standard_normal((5, 4)), rng.standard_normal((5, 4)))
    assert_same_state(ours, ref)
    assert repr(ours) == repr(ref)
    assert repr(nn.BatchNorm2d(3, affine=False)) == repr(torch.nn.BatchNorm2d(3, affine=False))


def test_a_rejected_batch_changes_no_state_and_the_error_names_the_layer():
    layer = nn.BatchNorm1d(64)
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(64\): expected more than 1 value per channel when training"):
        layer(bp.zeros(1, 64))
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(64\): expected input"):
        layer(bp.zeros(32, 10))
    assert int(layer.num_batches_tracked) == 0
    np.testing.assert_array_equal(layer.running_mean, np.zeros(64))
    np.testing.assert_array_equal(layer.running_var, np.ones(64))
