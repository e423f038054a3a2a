"""Learning-rate schedules give torch's values epoch by epoch."""

import numpy as np
import pytest

import bprop as bp
from bprop import optim

SCHEDULES = [("StepLR", dict(step_size=3, gamma=0.5)), ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
             ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
             ("CosineAnnealingLR", dict(T_max=5))]


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_lr_sequence_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours_opt = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=0.2)
    ref_opt = torch.optim.SGD([torch.tensor([1.0], requires_grad=True)], lr=0.2)
    ours = getattr(optim.lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for _ in range(30):  # past T_max: the cosine goes back up like torch's
        assert ours.get_last_lr()[0] == pytest.approx(ref.get_last_lr()[0], rel=1e-12, abs=1e-15)
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(ref_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        ours_opt.step()
        ref_opt.step()
        ours.step()
        ref.step()


def test_scheduler_state_round_trip(tmp_path):
    opt = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        sched.step()
    bp.save(sched.state_dict(), tmp_path / "s.npz")
    opt2 = optim.SGD([bp.tensor([1.0], requires_grad=True)], lr=1.0)
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2)
    sched2.load_state_dict(bp.load(tmp_path / "s.npz"))
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    sched.step()
    sched2.step()
    assert np.isclose(sched.get_last_lr()[0], sched2.get_last_lr()[0]) and sched2.last_epoch == 4
