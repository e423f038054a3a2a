"""MultiStepLR: the learning rate times γ at each milestone epoch."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


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
