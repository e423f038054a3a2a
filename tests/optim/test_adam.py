"""Adam against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

# betas (0.3, 0.5): 1 − β₁ ≥ ½ takes the other branch of torch's lerp; eps 0.1 makes ε matter
CONFIGS = grid(
    lr=[0.05],
    betas=[(0.9, 0.999), (0.3, 0.5)],
    eps=[1e-8, 0.1],
    weight_decay=[0.0, 0.1],
    amsgrad=[False, True],
    maximize=[False, True],
)


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("Adam", config)


def test_first_step_moves_every_weight_by_lr():
    """After one step m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g)."""
    p = bp.tensor([1.0, 1.0, 1.0], dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor(np.array([1e-3, -5.0, 300.0]), dtype=p.dtype)
    optim.Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.99, 1.01, 0.99], rtol=1e-14)


def test_amsgrad_keeps_the_largest_second_moment():
    p = bp.tensor([0.0], dtype=bp.float64, requires_grad=True)
    opt = optim.Adam([p], betas=(0.5, 0.5), amsgrad=True)
    for g in (4.0, 0.0, 0.0):
        p.grad = bp.tensor(np.array([g]), dtype=p.dtype)
        opt.step()
    state = opt.state[p]
    assert state["step"] == 3
    assert state["max_exp_avg_sq"][0] == 0.5 * 16 and state["exp_avg_sq"][0] == 0.125 * 16


@pytest.mark.parametrize("config", [dict(amsgrad=True, weight_decay=0.1), dict(maximize=True)], ids=label)
def test_state_dict_round_trip_continues_bit_identically(tmp_path, config):
    run_round_trip(lambda params: optim.Adam(params, lr=0.05, **config), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-1e-3), "Invalid learning rate: -0.001"),
        (dict(eps=-1.0), "Invalid epsilon value: -1.0"),
        (dict(betas=(1.0, 0.9)), r"Invalid beta parameter at index 0: 1.0"),
        (dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1"),
        (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.Adam([bp.tensor([1.0], requires_grad=True)], **kwargs)
