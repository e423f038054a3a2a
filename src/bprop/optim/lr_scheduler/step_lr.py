"""StepLR: the learning rate times γ every ``step_size`` epochs."""

from __future__ import annotations

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


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
