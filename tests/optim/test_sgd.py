"""SGD against torch, step for step, for every combination of its options."""

import numpy as np
import pytest
from tests.optim.parity import grid, label, run_parity, run_round_trip

import bprop as bp
from bprop import optim

CONFIGS = [
    c
    for c in grid(
        lr=[0.05],
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.3],
        nesterov=[False, True],
        weight_decay=[0.0, 0.05],
        maximize=[False, True],
    )
    if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)
]


@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_matches_torch_over_many_steps(config):
    run_parity("SGD", config)


def test_plain_sgd_is_the_notes_update():
    p = bp.tensor([1.0, -2.0], dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor(np.array([0.5, 4.0]), dtype=p.dtype)
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * 4.0])


def test_first_momentum_step_copies_the_gradient_without_dampening():
    p = bp.tensor([1.0], dtype=bp.float64, requires_grad=True)
    opt = optim.SGD([p], lr=1.0, momentum=0.9, dampening=0.5)
    p.grad = bp.tensor(np.array([2.0]), dtype=p.dtype)
    opt.step()
    assert opt.state[p]["momentum_buffer"][0] == 2.0 and p.data[0] == -1.0
    p.grad = bp.tensor(np.array([2.0]), dtype=p.dtype)
    opt.step()
    assert opt.state[p]["momentum_buffer"][0] == 0.9 * 2.0 + 0.5 * 2.0


def test_no_state_without_momentum():
    p = bp.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = bp.tensor(np.ones(1, np.float32), dtype=p.dtype)
    opt.step()
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize(
    "config",
    [dict(momentum=0.9, nesterov=True, weight_decay=0.1), dict(momentum=0.5, dampening=0.2, maximize=True)],
    ids=label,
)
def test_state_dict_round_trip_continues_bit_identically(tmp_path, config):
    run_round_trip(lambda params: optim.SGD(params, lr=0.05, **config), tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.1), "Invalid learning rate: -0.1"),
        (dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
        (dict(lr=0.1, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
        (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
        (dict(lr=float("nan")), "Invalid learning rate: nan"),
    ],
)
def test_invalid_hyper_parameters_raise_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.SGD([bp.tensor([1.0], requires_grad=True)], **kwargs)
