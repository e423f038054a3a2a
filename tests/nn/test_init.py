"""nn.init: torch's fans, gains and bounds; statistics of the draws; in place, seeded, no graph."""

import math

import numpy as np
import pytest

import bprop as bp
from bprop.nn import init

SHAPES = [(3, 4), (8, 4, 3, 3), (2, 5, 7), (1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(bp.zeros(*shape)) == expected


def test_conv_weight_fans_count_the_kernel_area():
    assert init._calculate_fan_in_and_fan_out(bp.zeros(8, 4, 3, 3)) == (4 * 9, 8 * 9)
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(3,\)"):
        init.xavier_uniform_(bp.zeros(3))


@pytest.mark.parametrize(
    "nonlinearity,param",
    [
        ("linear", None),
        ("conv2d", None),
        ("conv_transpose2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("leaky_relu", 0),
        ("selu", None),
    ],
)
def test_gains_match_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15
    )


def test_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


# (init call, torch's std of the draw for a (300, 400) weight: fan_in 400, fan_out 300)
STATISTICS = [
    (lambda t: init.normal_(t, 0.5, 2.0), 2.0),
    (lambda t: init.uniform_(t, -1, 1), 1 / math.sqrt(3)),
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / 700)),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(2 / 700)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.kaiming_normal_(t, a=0.2, mode="fan_out"), math.sqrt(2 / (1 + 0.04) / 300)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu", mode="fan_out"), math.sqrt(2 / 300)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), math.sqrt(1 / 3 / 400)),
]


@pytest.mark.parametrize("fn,std", STATISTICS)
def test_draws_have_torchs_standard_deviation(fn, std):
    bp.manual_seed(0)
    t = fn(bp.zeros(300, 400))
    assert np.asarray(t).std() == pytest.approx(std, rel=0.02)
    assert t.dtype == np.float32


@pytest.mark.parametrize(
    "fn,bound",
    [
        (lambda t: init.xavier_uniform_(t), math.sqrt(6 / (36 + 72))),
        (lambda t: init.kaiming_uniform_(t, a=0.1), math.sqrt(3) * math.sqrt(2 / 1.01) / 6),
        (
            lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="tanh"),
            math.sqrt(3) * (5 / 3) / math.sqrt(72),
        ),
    ],
)
def test_uniform_bounds_of_a_conv_weight(fn, bound):
    bp.manual_seed(1)
    t = fn(bp.zeros(8, 4, 3, 3))  # fan_in 36, fan_out 72
    assert np.abs(np.asarray(t)).max() <= bound and np.abs(np.asarray(t)).max() > 0.95 * bound


def test_writes_in_place_returns_the_tensor_and_records_no_graph():
    p = bp.nn.Parameter(np.zeros((5, 6), np.float64))
    array = np.asarray(p)
    assert init.kaiming_normal_(p) is p
    assert np.asarray(p) is array and np.asarray(p).dtype == np.float64 and np.abs(array).sum() > 0
    assert p.grad_fn is None and p.requires_grad and p.grad is None


def test_draws_come_from_the_seeded_generator():
    bp.manual_seed(5)
    first = np.asarray(init.normal_(bp.zeros(4, 4))).copy()
    bp.manual_seed(5)
    np.testing.assert_array_equal(np.asarray(init.normal_(bp.zeros(4, 4))), first)


def test_constants():
    t = bp.zeros(2, 3)
    assert np.asarray(init.ones_(t)).sum() == 6 and np.asarray(init.zeros_(t)).sum() == 0
    assert np.asarray(init.constant_(t, 0.5)).sum() == 3


def test_zero_element_tensors_are_left_alone():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.xavier_normal_):
        assert fn(bp.zeros(0, 3)).shape == (0, 3)


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(bp.zeros(2, 2), mode="fan_avg")


CONV_SHAPE = (64, 32, 3, 3)  # fan_in 288, fan_out 576


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("xavier_uniform_", {}),
        ("xavier_uniform_", dict(gain=0.5)),
        ("kaiming_uniform_", {}),
        ("kaiming_uniform_", dict(a=0.3, mode="fan_out")),
        ("kaiming_uniform_", dict(nonlinearity="relu")),
        ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ],
    ids=str,
)
def test_uniform_bounds_match_torchs_on_a_conv_weight(name, kwargs):
    """torch's draws reach its bound; ours reach the same bound and never pass it."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = np.abs(getattr(torch.nn.init, name)(torch.empty(CONV_SHAPE, dtype=torch.float64), **kwargs).numpy()).max()
    bp.manual_seed(0)
    ours = np.abs(np.asarray(getattr(init, name)(bp.tensor(np.zeros(CONV_SHAPE)), **kwargs))).max()
    assert ours == pytest.approx(theirs, rel=2e-3)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("xavier_normal_", {}),
        ("xavier_normal_", dict(gain=3.0)),
        ("kaiming_normal_", {}),
        ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")),
        ("kaiming_normal_", dict(a=0.2)),
        ("normal_", dict(mean=1.0, std=0.1)),
    ],
    ids=str,
)
def test_normal_statistics_match_torchs_on_a_conv_weight(name, kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(CONV_SHAPE, dtype=torch.float64), **kwargs).numpy()
    bp.manual_seed(0)
    ours = np.asarray(getattr(init, name)(bp.tensor(np.zeros(CONV_SHAPE)), **kwargs))
    assert ours.std() == pytest.approx(theirs.std(), rel=0.02)
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.02 * theirs.std() + 1e-3)


def test_conv_fans_set_the_standard_deviation():
    bp.manual_seed(3)
    fan_in = np.asarray(init.kaiming_normal_(bp.zeros(*CONV_SHAPE), nonlinearity="relu")).std()
    fan_out = np.asarray(init.kaiming_normal_(bp.zeros(*CONV_SHAPE), mode="fan_out", nonlinearity="relu")).std()
    glorot = np.asarray(init.xavier_normal_(bp.zeros(*CONV_SHAPE))).std()
    assert fan_in == pytest.approx(math.sqrt(2 / 288), rel=0.02)
    assert fan_out == pytest.approx(math.sqrt(2 / 576), rel=0.02)
    assert glorot == pytest.approx(math.sqrt(2 / (288 + 576)), rel=0.02)
