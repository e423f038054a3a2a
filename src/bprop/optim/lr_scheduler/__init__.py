"""Learning-rate schedules (one per file), giving torch's values step by step.

Like torch's, each schedule is "chainable": ``get_lr`` computes the next learning rate from the
one currently in the optimizer's param group, not from a closed form, so the rounding (and a
learning rate changed by hand, or by another schedule) carries over exactly as in torch.

Usage, as in torch (the scheduler steps after the optimizer, once per epoch)::

    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        sched.step()
"""

from bprop.optim.lr_scheduler.cosine_annealing_lr import CosineAnnealingLR
from bprop.optim.lr_scheduler.exponential_lr import ExponentialLR
from bprop.optim.lr_scheduler.lambda_lr import LambdaLR
from bprop.optim.lr_scheduler.multi_step_lr import MultiStepLR
from bprop.optim.lr_scheduler.one_cycle_lr import OneCycleLR
from bprop.optim.lr_scheduler.reduce_lr_on_plateau import ReduceLROnPlateau
from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.lr_scheduler.step_lr import StepLR

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]
