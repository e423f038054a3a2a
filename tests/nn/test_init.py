"""nn.init: statistics, fans and torch's formulas."""

import math

import numpy as np
import pytest

import bprop as bp
from bprop.nn import init


def test_fans_and_gains():
    assert init._fans(bp.zeros(3, 4)) == (4, 3)
    assert init._fans(bp.zeros(8, 4, 3, 3)) == (36, 72)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("fn,std", [
    (lambda t: init.normal_(t, 0.5, 2.0), 2.0),
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / (400 + 300))),
    (lambda t: init.xavier_uniform_(t), math.sqrt(2 / (400 + 300))),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu", mode="fan_out"), math.sqrt(2 / 300)),
    (lambda t: init.uniform_(t, -1, 1), 1 / math.sqrt(3)),
])
def test_statistics(fn, std):
    bp.manual_seed(0)
    t = fn(bp.zeros(300, 400))
    assert t.data.std() == pytest.approx(std, rel=0.02)
    assert t.dtype == np.float32


def test_constants_and_errors():
    t = bp.zeros(2, 3)
    assert init.ones_(t).data.sum() == 6 and init.zeros_(t).data.sum() == 0
    assert init.constant_(t, 0.5).data.sum() == 3
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(bp.zeros(3))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(bp.zeros(2, 2), mode="fan_avg")
