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


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
    ("leaky_relu", 0), ("selu", None)])
def test_gains_match_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


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
    assert t.data.std() == pytest.approx(std, rel=0.02)
    assert t.dtype == np.float32


@pytest.mark.parametrize("fn,bound", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(6 / (36 + 72))),
    (lambda t: init.kaiming_uniform_(t, a=0.1), math.sqrt(3) * math.sqrt(2 / 1.01) / 6),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="tanh"), math.sqrt(3) * (5 / 3) / math.sqrt(72)),
])
def test_uniform_bounds_of_a_conv_weight(fn, bound):
    bp.manual_seed(1)
    t = fn(bp.zeros(8, 4, 3, 3))  # fan_in 36, fan_out 72
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.95 * bound


def test_writes_in_place_returns_the_tensor_and_records_no_graph():
    p = bp.nn.Parameter(np.zeros((5, 6), np.float64))
    array = p.data
    assert init.kaiming_normal_(p) is p
    assert p.data is array and p.data.dtype == np.float64 and np.abs(array).sum() > 0
    assert p.grad_fn is None and p.requires_grad and p.grad is None


def test_draws_come_from_the_seeded_generator():
    bp.manual_seed(5)
    first = init.normal_(bp.zeros(4, 4)).data.copy()
    bp.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(bp.zeros(4, 4)).data, first)


def test_constants():
    t = bp.zeros(2, 3)
    assert init.ones_(t).data.sum() == 6 and init.zeros_(t).data.sum() == 0
    assert init.constant_(t, 0.5).data.sum() == 3


def test_zero_element_tensors_are_left_alone():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.xavier_normal_):
        assert fn(bp.zeros(0, 3)).shape == (0, 3)


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(bp.zeros(2, 2), mode="fan_avg")
