"""SGD, Adam, AdamW and RMSprop against torch, step for step, for every option."""

import itertools

import numpy as np
import pytest

import bprop as bp
from bprop import optim

CONFIGS = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.3),
            dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.01, momentum=0.5),
            dict(lr=0.1, maximize=True)],
    "Adam": [dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6), dict(lr=0.01, weight_decay=0.1),
             dict(lr=0.01, amsgrad=True), dict(lr=0.01, maximize=True)],
    "AdamW": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.5), dict(lr=0.01, amsgrad=True, weight_decay=0.1)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.01, centered=True),
                dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9), dict(lr=0.01, maximize=True)],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def quadratic_loss(w, b, x, y):
    """A small least-squares problem whose gradients change every step."""
    return (((x @ w + b) - y) ** 2).mean() + (w * w * w).sum() * 0.01


@pytest.mark.parametrize("name,config", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_over_many_steps(name, config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    w0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    ours = [bp.tensor(w0.copy(), requires_grad=True), bp.tensor(b0.copy(), requires_grad=True)]
    theirs = [torch.tensor(w0.copy(), requires_grad=True), torch.tensor(b0.copy(), requires_grad=True)]
    opt, ref = getattr(optim, name)(ours, **config), getattr(torch.optim, name)(theirs, **config)
    for _ in range(12):
        opt.zero_grad()
        ref.zero_grad()
        quadratic_loss(*ours, bp.tensor(x), bp.tensor(y)).backward()
        quadratic_loss(*theirs, torch.tensor(x), torch.tensor(y)).backward()
        opt.step()
        ref.step()
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_param_groups_with_their_own_lr():
    a, b = bp.tensor([1.0], requires_grad=True), bp.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.ones(1, np.float32), np.ones(1, np.float32)
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    assert a.dtype == np.float32


def test_params_without_grad_are_skipped_and_zero_grad():
    a = bp.tensor([1.0], requires_grad=True)
    opt = optim.Adam([a])
    opt.step()
    assert a.data[0] == 1.0
    a.grad = np.ones(1, np.float32)
    opt.zero_grad(set_to_none=False)
    assert a.grad[0] == 0
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_state_dict_round_trip_continues_bit_identically(tmp_path, name):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    config = dict(lr=0.05, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.05)

    def make():
        params = [bp.tensor(np.ones((3, 2)), requires_grad=True), bp.tensor(np.zeros(2), requires_grad=True)]
        return params, getattr(optim, name)(params, **config)

    def steps(params, opt, n):
        for _ in range(n):
            opt.zero_grad()
            quadratic_loss(*params, bp.tensor(x), bp.tensor(y)).backward()
            opt.step()

    straight, opt = make()
    steps(straight, opt, 6)
    first, opt = make()
    steps(first, opt, 3)
    bp.save({"params": [p.data for p in first], "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    saved = bp.load(tmp_path / "ckpt.npz")
    resumed, opt2 = make()
    for p, data in zip(resumed, saved["params"]):
        p.data = data
    opt2.load_state_dict(saved["optim"])
    steps(resumed, opt2, 3)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (lambda p: optim.RMSprop(p, eps=-1), "Invalid epsilon value"),
    (lambda p: optim.AdamW(p, weight_decay=-1), "Invalid weight_decay value"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_invalid_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([bp.tensor([1.0], requires_grad=True)])


def test_rejects_tensors_that_do_not_require_grad_and_duplicates():
    with pytest.raises(TypeError, match="require grad"):
        optim.SGD([bp.tensor([1.0])], lr=0.1)
    a = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)


def test_all_option_combinations_of_sgd_run():
    for momentum, dampening, nesterov in itertools.product((0.0, 0.9), (0.0, 0.5), (False, True)):
        if nesterov and (momentum == 0 or dampening):
            continue
        a = bp.tensor([1.0, 2.0], requires_grad=True)
        opt = optim.SGD([a], lr=0.1, momentum=momentum, dampening=dampening, nesterov=nesterov)
        for _ in range(3):
            a.grad = a.data.copy()
            opt.step()
        assert np.all(np.abs(a.data) < np.array([1.0, 2.0]))
