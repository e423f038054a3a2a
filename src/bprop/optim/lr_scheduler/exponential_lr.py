"""ExponentialLR: the learning rate times γ every epoch."""

from __future__ import annotations

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by γ every epoch: η_t = η₀·γᵗ, computed as η_t = γ·η_{t−1}."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]
