"""Adadelta against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

CONFIGS = grid(lr=[1.0, 0.3], rho=[0.9, 0.5], eps=[1e-6, 1e-2], weight_decay=[0.0, 0.1], maximize=[False, True])


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("Adadelta", config)


def test_first_step_is_the_ratio_of_root_mean_squares():
    """v₁ = (1 − ρ)g², u₀ = 0: Δx₁ = √ε/√((1 − ρ)g² + ε)·g."""
    p = bp.tensor([0.0], dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor([2.0], dtype=p.dtype)
    optim.Adadelta([p], lr=1.0, rho=0.75, eps=1e-4).step()
    np.testing.assert_allclose(p.data, [-np.sqrt(1e-4) / np.sqrt(0.25 * 4 + 1e-4) * 2.0], rtol=1e-14)


def test_state_dict_round_trip_continues_bit_identically(tmp_path):
    run_round_trip(lambda params: optim.Adadelta(params, rho=0.8, weight_decay=0.1), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.01), "Invalid learning rate: -0.01"),
        (dict(rho=1.5), "Invalid rho value: 1.5"),
        (dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
        (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message):
        torch.optim.Adadelta([torch.ones(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=message):
        optim.Adadelta([bp.tensor([1.0], requires_grad=True)], **kwargs)
