"""Learning-rate schedules give torch's values epoch by epoch, bit for bit."""

import math
import warnings

import numpy as np
import pytest

import bprop as bp
from bprop import optim
from bprop.optim import lr_scheduler

SCHEDULES = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=1, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("MultiStepLR", dict(milestones=[9, 1])),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("CosineAnnealingLR", dict(T_max=1, eta_min=0.05)),
]
LRS = [0.2, 0.03]  # two param groups with their own learning rates


def groups(tensor_fn):
    return [{"params": [tensor_fn()], "lr": lr} for lr in LRS]


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[f"{n}{k}" for n, k in SCHEDULES])
def test_lr_sequence_is_torchs_exactly(name, kwargs):
    torch = pytest.importorskip("torch")
    ours_opt = optim.SGD(groups(lambda: bp.tensor([1.0], requires_grad=True)))
    ref_opt = torch.optim.SGD(groups(lambda: torch.tensor([1.0], requires_grad=True)))
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for epoch in range(30):  # past T_max, where the cosine climbs back like torch's
        assert ours.get_last_lr() == ref.get_last_lr(), epoch
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in ref_opt.param_groups], epoch
        assert ours.last_epoch == ref.last_epoch == epoch
        ref_opt.step()
        ours.step()
        ref.step()


def test_closed_forms():
    def lrs(sched, epochs):
        out = []
        for _ in range(epochs):
            out.append(sched.get_last_lr()[0])
            sched.step()
        return out

    def fresh():
        return optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=1.0)

    assert lrs(lr_scheduler.StepLR(fresh(), step_size=2, gamma=0.5), 6) == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert lrs(lr_scheduler.MultiStepLR(fresh(), [1, 3, 3], gamma=0.5), 5) == [1, 0.5, 0.5, 0.125, 0.125]
    np.testing.assert_allclose(lrs(lr_scheduler.ExponentialLR(fresh(), 0.9), 5), 0.9 ** np.arange(5), rtol=1e-15)
    cosine = lrs(lr_scheduler.CosineAnnealingLR(fresh(), T_max=4, eta_min=0.1), 13)
    expected = [0.1 + 0.45 * (1 + math.cos(math.pi * t / 4)) for t in range(13)]
    np.testing.assert_allclose(cosine, expected, rtol=1e-12, atol=1e-15)


def test_initial_lr_is_recorded_and_resuming_needs_it():
    torch = pytest.importorskip("torch")
    opt = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=0.5)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    lr_scheduler.StepLR(opt, step_size=2)
    assert opt.param_groups[0]["initial_lr"] == 0.5
    # resuming at epoch 4 continues from the current lr, as torch does
    ref_opt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.5)
    torch.optim.lr_scheduler.StepLR(ref_opt, step_size=2)
    for o in (opt, ref_opt):
        o.param_groups[0]["lr"] = 0.125
    ours = lr_scheduler.CosineAnnealingLR(opt, T_max=6, last_epoch=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=6, last_epoch=4)
        for _ in range(8):
            assert ours.get_last_lr() == ref.get_last_lr() and ours.last_epoch == ref.last_epoch
            ours.step()
            ref.step()


def test_rejects_a_non_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR([bp.tensor([1.0])], step_size=2)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: lr_scheduler.StepLR(o, step_size=2),
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 4, 4]),
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=0.01),
    ],
)
def test_state_round_trip_through_bp_save_continues_identically(tmp_path, make):
    def fresh():
        return optim.Adam(groups(lambda: bp.tensor([1.0], requires_grad=True)))

    straight_opt = fresh()
    straight = make(straight_opt)
    opt = fresh()
    sched = make(opt)
    for _ in range(4):
        straight.step()
        sched.step()
    bp.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    saved = bp.load(tmp_path / "s.npz")
    opt2 = fresh()
    sched2 = make(opt2)  # construct first, then load (torch's order): the loads win
    opt2.load_state_dict(saved["optim"])
    sched2.load_state_dict(saved["sched"])
    for _ in range(6):
        straight.step()
        sched2.step()
        assert sched2.get_last_lr() == straight.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == straight.get_last_lr()
    assert sched2.last_epoch == 10


def run_both(name, kwargs, make_opt, steps, metrics=None):
    """The learning rates (and momenta) of our schedule and torch's, step by step."""
    torch = pytest.importorskip("torch")
    ours_opt = make_opt(optim, lambda: bp.tensor([1.0], requires_grad=True))
    ref_opt = make_opt(torch.optim, lambda: torch.tensor([1.0], requires_grad=True))
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for step in range(steps):
        for key in ("lr", "momentum", "betas"):
            assert [g.get(key) for g in ours_opt.param_groups] == [g.get(key) for g in ref_opt.param_groups], (
                step,
                key,
            )
        assert ours.get_last_lr() == ref.get_last_lr(), step
        ref_opt.step()
        if metrics is None:
            ours.step()
            ref.step()
        else:
            ours.step(metrics[step])
            ref.step(metrics[step])
    return ours, ref


def sgd_groups(module, tensor_fn, momentum=0.9):
    return module.SGD(groups(tensor_fn), lr=0.1, momentum=momentum)


def adam_groups(module, tensor_fn):
    return module.Adam(groups(tensor_fn))


class Warmup:
    """A callable object: its attributes are state, saved by LambdaLR.state_dict."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


@pytest.mark.parametrize(
    "lr_lambda", [lambda e: 0.95**e, [lambda e: 1 / (e + 1), Warmup(4)]], ids=["one-function", "per-group"]
)
def test_lambda_lr_is_torchs(lr_lambda):
    run_both("LambdaLR", dict(lr_lambda=lr_lambda), sgd_groups, 12)


def test_lambda_lr_state_dict_keeps_callable_objects_not_functions():
    opt = optim.SGD(groups(lambda: bp.tensor([1.0], requires_grad=True)))
    warmup = Warmup(4)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, warmup])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"epochs": 4}]
    warmup.epochs = 9
    sched.load_state_dict(state)
    assert warmup.epochs == 4


ONE_CYCLE = [
    dict(max_lr=1.0, total_steps=20),
    dict(max_lr=[0.5, 0.05], epochs=3, steps_per_epoch=7, anneal_strategy="linear", pct_start=0.4),
    dict(max_lr=0.3, total_steps=25, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.3, total_steps=10, cycle_momentum=False),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE, ids=str)
@pytest.mark.parametrize("make_opt", [sgd_groups, adam_groups], ids=["SGD-momentum", "Adam-beta1"])
def test_one_cycle_lr_is_torchs_lr_and_momentum(kwargs, make_opt):
    steps = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    run_both("OneCycleLR", kwargs, make_opt, steps)


def test_one_cycle_lr_refuses_what_torch_refuses():
    opt = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(optim.Adagrad([bp.tensor([1.0], requires_grad=True)]), 1.0, total_steps=3)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2, cycle_momentum=False)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold_mode="abs", threshold=0.05),
    dict(patience=0, cooldown=2, min_lr=[0.05, 0.001]),
    dict(factor=0.5, patience=2, min_lr=0.02, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=str)
def test_reduce_lr_on_plateau_is_torchs(kwargs):
    rng = np.random.default_rng(3)
    metrics = list(1.0 / np.arange(1, 41) + 0.02 * rng.random(40))  # improves, then plateaus
    metrics[20:30] = [0.5] * 10
    ours, ref = run_both("ReduceLROnPlateau", kwargs, sgd_groups, 40, metrics)
    assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == (
        ref.best,
        ref.num_bad_epochs,
        ref.cooldown_counter,
        ref.last_epoch,
    )
    resumed = lr_scheduler.ReduceLROnPlateau(ours.optimizer, **kwargs)
    resumed.load_state_dict(ours.state_dict())
    assert resumed.state_dict() == ours.state_dict()
