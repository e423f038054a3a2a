"""CosineAnnealingLR: a half cosine from the initial learning rate down to η_min over T_max epochs."""

from __future__ import annotations

import math

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


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
