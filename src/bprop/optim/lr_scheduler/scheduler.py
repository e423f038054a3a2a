"""LRScheduler, the base of the epoch-by-epoch schedules: records ``initial_lr``, steps, state dicts."""

from __future__ import annotations

from typing import Any

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
