"""Learning-rate schedules, stepped once per epoch, giving torch's values epoch by epoch.

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

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable

from bprop.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``get_lr``, the learning rates for epoch ``last_epoch``.

    Constructing a scheduler records each group's ``initial_lr`` and performs the initial step
    (epoch 0), which keeps the current learning rates. ``last_epoch`` ≥ 0 resumes a schedule;
    the optimizer's groups must then hold ``initial_lr`` (load the optimizer's state first).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                    f"scheduler with last_epoch={last_epoch}: load the optimizer's state dict first"
                )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of each param group for epoch ``last_epoch`` (already advanced)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer's groups."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step`` (one per param group)."""
        return self._last_lr

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (numbers and lists, so ``bp.save`` can write it)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by γ every ``step_size`` epochs: η_t = η₀·γ^⌊t/step_size⌋.

    Computed as η_t = γ·η_{t−1} when t is a non-zero multiple of step_size, else η_t = η_{t−1}.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by γ at each epoch in ``milestones`` (by γᵏ at an epoch listed
    k times): η_t = η₀·γ^(number of milestones ≤ t)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by γ every epoch: η_t = η₀·γᵗ, computed as η_t = γ·η_{t−1}."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from η₀ (the initial lr) to η_min over ``T_max`` epochs (SGDR without
    restarts); past T_max the cosine continues, back up to η₀ at 2·T_max, and so on.

    The closed form is η_t = η_min + ½(η₀ − η_min)(1 + cos(πt/T_max)). Torch, and so bprop,
    evaluates it recursively from the current lr::

        η_t = η_min + (η_{t−1} − η_min)·(1 + cos(πt/T_max)) / (1 + cos(π(t−1)/T_max))

    except where the denominator vanishes (t − 1 = T_max, 3T_max, …, the trough), where it adds
    the increment instead: η_t = η_{t−1} + (η₀ − η_min)(1 − cos(π/T_max))/2.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):  # noqa: N803
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - period) % (2 * period) == 0:
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / period)) / 2
                for lr, base in zip(self._current_lrs(), self.base_lrs)
            ]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]
