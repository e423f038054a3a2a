"""RMSprop against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

# alpha 0.3: 1 − α ≥ ½ takes the other branch of torch's lerp for the centred mean
CONFIGS = grid(
    lr=[0.01],
    alpha=[0.99, 0.3],
    eps=[1e-8, 0.1],
    weight_decay=[0.0, 0.1],
    momentum=[0.0, 0.7],
    centered=[False, True],
    maximize=[False, True],
)


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("RMSprop", config)


def test_first_step_divides_by_the_root_mean_square():
    """s₁ = (1 − α)g², so the first step is lr·g/(√(1 − α)|g| + ε)."""
    p = bp.tensor([0.0, 0.0], dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor(np.array([2.0, -0.5]), dtype=p.dtype)
    optim.RMSprop([p], lr=0.1, alpha=0.75, eps=0.0).step()
    np.testing.assert_allclose(p.data, [-0.2, 0.2], rtol=1e-14)


def test_state_buffers_follow_the_options():
    p = bp.tensor([1.0], requires_grad=True)
    p.grad = bp.tensor(np.ones(1, np.float32), dtype=p.dtype)
    plain, full = optim.RMSprop([p]), optim.RMSprop([p], momentum=0.5, centered=True)
    plain.step()
    full.step()
    assert set(plain.state[p]) == {"step", "square_avg"}
    assert set(full.state[p]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}


@pytest.mark.parametrize(
    "config", [dict(centered=True, momentum=0.5, weight_decay=0.1), dict(maximize=True, alpha=0.5)], ids=label
)
def test_state_dict_round_trip_continues_bit_identically(tmp_path, config):
    run_round_trip(lambda params: optim.RMSprop(params, lr=0.01, **config), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.01), "Invalid learning rate: -0.01"),
        (dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
        (dict(momentum=-0.9), "Invalid momentum value: -0.9"),
        (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
        (dict(alpha=-0.99), "Invalid alpha value: -0.99"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.RMSprop([bp.tensor([1.0], requires_grad=True)], **kwargs)
