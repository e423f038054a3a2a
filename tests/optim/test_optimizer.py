"""The Optimizer base: parameter groups, zero_grad, step, state dicts in torch's layout."""

import tracemalloc

import numpy as np
import pytest
from tests.optim.parity import Problem

import bprop as bp
from bprop import nn, optim

ALL = {
    "SGD": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.01, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
}


def make(name, params, **overrides):
    return getattr(optim, name)(params, **{**ALL[name], **overrides})


def test_accepts_a_generator_of_parameters_and_dict_groups():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert len(opt.param_groups) == 1 and len(opt.param_groups[0]["params"]) == 2
    opt = optim.SGD([{"params": [model.weight]}, {"params": model.bias, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    assert opt.param_groups[1]["params"][0] is model.bias  # a lone tensor becomes a list


def test_param_groups_with_different_lrs_match_torch():
    torch = pytest.importorskip("torch")
    problem = Problem(seed=3)
    ours, theirs = problem.bprop_params(), problem.torch_params(torch)

    def split(ps):
        return [{"params": ps[:1], "lr": 0.05, "momentum": 0.9}, {"params": ps[1:]}]

    opt, ref = optim.SGD(split(ours), lr=0.01), torch.optim.SGD(split(theirs), lr=0.01)
    for _ in range(10):
        problem.set_grads(ours, theirs, torch)
        opt.step()
        ref.step()
    for mine, other in zip(ours, theirs):
        assert np.isfinite(mine.data).all()
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_add_param_group_takes_defaults_and_checks_values():
    a, b = bp.tensor([1.0], requires_grad=True), bp.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.01, betas=(0.8, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.1})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [bp.tensor([0.0], requires_grad=True)], "lr": -1})
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 2


@pytest.mark.parametrize(
    "params,error,message",
    [
        ([], ValueError, "empty parameter list"),
        (bp.tensor([1.0], requires_grad=True), TypeError, "iterable of Tensors or dicts"),
        ([np.ones(2)], TypeError, "can only optimize Tensors, but one of the params is ndarray"),
        ([{"params": {bp.tensor([1.0], requires_grad=True)}}], TypeError, "ordered collections"),
    ],
)
def test_bad_params_raise(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


def test_rejects_non_leaves_and_duplicates():
    a = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)


def test_zero_grad_sets_to_none_or_zeroes_in_place():
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    a.grad = grad = bp.ones(2)
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and not grad.numpy().any()
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("name", ALL)
def test_step_skips_params_without_grad_and_leaves_grad_alone(name):
    a, b = bp.tensor([1.0, 2.0], requires_grad=True), bp.tensor([3.0], requires_grad=True)
    opt = make(name, [a, b], maximize=True)
    a.grad = bp.tensor(np.array([0.5, -0.5], np.float32), dtype=a.dtype)
    opt.step()
    assert b.data[0] == 3.0 and b not in opt.state
    np.testing.assert_array_equal(a.grad, [0.5, -0.5])  # maximize and weight decay work on a copy
    assert a.grad_fn is None and a.requires_grad


@pytest.mark.parametrize("name", ALL)
def test_float32_stays_float32_in_place_and_allocates_nothing_per_step(name):
    """Parameters and state keep float32 and their arrays; a warm step allocates < 1 % of the
    parameter's size (only the tiny objects NumPy needs for views and scalars)."""
    rng = np.random.default_rng(0)
    p = bp.tensor(rng.standard_normal((200, 300)).astype(np.float32), requires_grad=True)
    data = p._data
    opt = make(name, [p])
    p.grad = bp.tensor(rng.standard_normal((200, 300)).astype(np.float32))
    opt.step()
    state = {k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)}
    assert state and all(v.dtype == np.float32 for v in state.values())
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < data.nbytes / 100, peak
    assert p._data is data and p.dtype == np.float32
    assert all(opt.state[p][k] is v for k, v in state.items())


@pytest.mark.parametrize("name", ALL)
def test_float32_follows_torch_closely(name):
    torch = pytest.importorskip("torch")
    problem = Problem(seed=2, dtype=np.float32)
    ours, theirs = problem.bprop_params(), problem.torch_params(torch)
    opt, ref = make(name, ours), getattr(torch.optim, name)(theirs, **ALL[name])
    for _ in range(10):
        problem.set_grads(ours, theirs, torch)
        opt.step()
        ref.step()
    for mine, other in zip(ours, theirs):
        assert mine.data.dtype == np.float32
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_has_torchs_layout(name):
    torch = pytest.importorskip("torch")
    problem = Problem(seed=4)
    ours, theirs = problem.bprop_params(), problem.torch_params(torch)

    def split(ps):
        return [{"params": [ps[2], ps[0]]}, {"params": [ps[3], ps[1]], "lr": 0.003}]

    opt, ref = make(name, split(ours)), getattr(torch.optim, name)(split(theirs), **ALL[name])
    for _ in range(3):
        problem.set_grads(ours, theirs, torch)
        opt.step()
        ref.step()
    mine, other = opt.state_dict(), ref.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [g["params"] for g in other["param_groups"]]
    for group, ref_group in zip(mine["param_groups"], other["param_groups"]):
        assert {k: ref_group[k] for k in group} == group  # every key of ours, with torch's value
    assert set(mine["state"]) == set(other["state"]) == {0, 1, 3}  # index 2: no grad, no state
    for i, state in mine["state"].items():
        assert set(state) == set(other["state"][i])
        for key, value in state.items():
            np.testing.assert_allclose(value, other["state"][i][key].numpy(), rtol=1e-10, atol=1e-12)


def test_state_dict_is_a_copy_and_loading_casts_to_the_parameter_dtype():
    p = bp.tensor(np.ones(3), dtype=bp.float64, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = bp.tensor(np.ones(3), dtype=p.dtype)
    opt.step()
    saved = opt.state_dict()
    opt.step()
    assert saved["state"][0]["step"] == 1 and opt.state[p]["step"] == 2
    assert not np.array_equal(saved["state"][0]["exp_avg"], opt.state[p]["exp_avg"])
    q = bp.tensor(np.ones(3), dtype=bp.float32, requires_grad=True)
    other = optim.Adam([q], lr=0.5)
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 1e-3 and other.param_groups[0]["params"][0] is q
    assert other.state[q]["exp_avg"].dtype == np.float32
    other.state[q]["exp_avg"][...] = 7  # a loaded state dict is copied, not shared
    assert saved["state"][0]["exp_avg"][0] != 7


def test_load_state_dict_errors_name_the_mismatch():
    a, b = bp.tensor(np.ones(3, np.float32), requires_grad=True), bp.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = bp.ones(3), bp.ones(2)
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, this SGD has 2"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters, the optimizer's 1"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(3,\), the parameter \(2,\)"):
        optim.SGD([b, a], lr=0.1).load_state_dict(saved)


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    w = bp.tensor([1.0, -1.0], dtype=bp.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with bp.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_array_equal(w.data, [0.5, -0.5])


def test_repr_lists_each_group_like_torch():
    opt = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=0.1)
    assert repr(opt) == (
        "SGD (\nParameter Group 0\n    dampening: 0.0\n    lr: 0.1\n    maximize: False\n"
        "    momentum: 0.0\n    nesterov: False\n    weight_decay: 0.0\n)"
    )


def test_trains_a_model_through_autograd():
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    x = bp.randn(32, 4)
    y = x.sum(dim=1, keepdim=True)
    opt = optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


@pytest.mark.parametrize("name", ALL)
def test_resumes_from_a_torch_state_dict(name):
    """torch's state dict, tensors turned into arrays, continues in bprop as it would in torch."""
    torch = pytest.importorskip("torch")
    problem = Problem(seed=5)
    theirs = problem.torch_params(torch)
    ref = getattr(torch.optim, name)(theirs, **ALL[name])
    for _ in range(3):
        problem.set_grads([bp.tensor(p.detach().numpy()) for p in theirs], theirs, torch)
        ref.step()
    sd = ref.state_dict()
    sd["state"] = {
        i: {k: (v.numpy().copy() if torch.is_tensor(v) else v) for k, v in s.items()} for i, s in sd["state"].items()
    }
    ours = [bp.tensor(p.detach().numpy().copy(), requires_grad=True) for p in theirs]
    opt = make(name, ours, lr=123.0)  # the loaded groups replace these hyper-parameters
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == ALL[name]["lr"]
    assert isinstance(opt.state[ours[0]].get("step", 0.0), float)  # torch's 0-d step tensor → a number
    for _ in range(4):
        problem.set_grads(ours, theirs, torch)
        opt.step()
        ref.step()
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-10, atol=1e-10)
