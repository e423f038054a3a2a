"""AdamW against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

CONFIGS = grid(
    lr=[0.05],
    betas=[(0.9, 0.999), (0.3, 0.5)],
    eps=[1e-8, 0.1],
    weight_decay=[0.0, 0.01, 0.5],
    amsgrad=[False, True],
    maximize=[False, True],
)


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("AdamW", config)


def test_default_weight_decay_is_torchs():
    torch = pytest.importorskip("torch")
    ours = optim.AdamW([bp.tensor([1.0], requires_grad=True)])
    theirs = torch.optim.AdamW([torch.ones(1, requires_grad=True)])
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"):
        assert ours.param_groups[0][key] == theirs.param_groups[0][key], key


def test_decay_is_decoupled_from_the_moments():
    """With a zero gradient Adam's moments stay zero, so the whole step is θ ← θ(1 − γλ)."""
    p = bp.tensor([2.0, -4.0], dtype=bp.float64, requires_grad=True)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = bp.tensor(np.zeros(2), dtype=p.dtype)
    opt.step()
    np.testing.assert_array_equal(p.data, [2.0 * 0.95, -4.0 * 0.95])
    assert not opt.state[p]["exp_avg"].any() and not opt.state[p]["exp_avg_sq"].any()


def test_differs_from_adam_with_weight_decay():
    params = [bp.tensor([1.0, 2.0], dtype=bp.float64, requires_grad=True) for _ in range(2)]
    for p, cls in zip(params, (optim.Adam, optim.AdamW)):
        p.grad = bp.tensor(np.array([0.1, -0.3]), dtype=p.dtype)
        cls([p], lr=0.1, weight_decay=0.5).step()
    assert np.abs(params[0].data - params[1].data).min() > 1e-3


def test_state_dict_round_trip_continues_bit_identically(tmp_path):
    run_round_trip(lambda params: optim.AdamW(params, lr=0.05, amsgrad=True, weight_decay=0.1), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.5), "Invalid learning rate: -0.5"),
        (dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
        (dict(betas=(0.9, 1.5)), r"Invalid beta parameter at index 1: 1.5"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.AdamW([bp.tensor([1.0], requires_grad=True)], **kwargs)
