"""Adagrad against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

CONFIGS = grid(
    lr=[0.1],
    lr_decay=[0.0, 0.05],
    weight_decay=[0.0, 0.1],
    initial_accumulator_value=[0.0, 0.5],
    eps=[1e-10, 0.1],
    maximize=[False, True],
)


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("Adagrad", config)


def test_first_step_is_a_signed_step_of_lr():
    """s₁ = g², so the first step is lr·g/(|g| + ε) = lr·sign(g) for ε = 0."""
    p = bp.tensor([0.0, 0.0], dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor([2.0, -0.5], dtype=p.dtype)
    optim.Adagrad([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1], rtol=1e-14)


@pytest.mark.parametrize("config", [dict(lr_decay=0.1, weight_decay=0.1), dict(initial_accumulator_value=1.0)])
def test_state_dict_round_trip_continues_bit_identically(tmp_path, config):
    run_round_trip(lambda params: optim.Adagrad(params, lr=0.05, **config), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.01), "Invalid learning rate: -0.01"),
        (dict(lr_decay=-0.5), "Invalid lr_decay value: -0.5"),
        (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
        (dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value: -1.0"),
        (dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message):
        torch.optim.Adagrad([torch.ones(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=message):
        optim.Adagrad([bp.tensor([1.0], requires_grad=True)], **kwargs)
