"""OneCycleLR: the 1cycle policy (Smith & Topor, 2019), stepped after every batch."""

from __future__ import annotations

import math
from typing import Any, Sequence

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


def _per_group(name: str, optimizer: Optimizer, value: float | Sequence[float]) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has {len(value)} "
                f"values, param_groups has {len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


class OneCycleLR(LRScheduler):
    """The learning rate climbs from η_max/``div_factor`` to η_max over the first ``pct_start``
    of the ``total_steps`` (= epochs·steps_per_epoch), then anneals to
    η_max/(div_factor·``final_div_factor``); momentum (or Adam's β₁) moves the opposite way,
    ``max_momentum`` → ``base_momentum`` → ``max_momentum``. Step it after every batch.

    Phase k runs from step s_{k−1} to its end step e_k (e₁ = pct_start·T − 1, last e = T − 1);
    with p = (t − s_{k−1})/(e_k − s_{k−1}) the value goes from a to b as
        cos:     b + (a − b)·(1 + cos πp)/2        linear:  a + (b − a)·p
    ``three_phase`` adds a descent back to the initial lr before the final annealing (three
    phases ending at pct·T − 1, 2·pct·T − 2 and T − 1). Stepping past T raises, as in torch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.total_steps = self._total_steps(total_steps, epochs, steps_per_epoch)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = self._phases(pct_start, three_phase)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, _per_group("max_lr", optimizer, max_lr)):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = _per_group("max_momentum", optimizer, max_momentum)
            bases = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for top, base, group in zip(tops, bases, optimizer.param_groups):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            return total_steps
        if epochs is None or steps_per_epoch is None:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(epochs, int) or epochs <= 0:
            raise ValueError(f"Expected positive integer epochs, but got {epochs}")
        if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
            raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
        return epochs * steps_per_epoch

    def _phases(self, pct: float, three_phase: bool) -> list[dict[str, Any]]:
        """(end step, lr from → to, momentum from → to) of each phase, as group keys."""
        up = dict(end_step=float(pct * self.total_steps) - 1, start_lr="initial_lr", end_lr="max_lr")
        up.update(start_momentum="max_momentum", end_momentum="base_momentum")
        last = dict(end_step=self.total_steps - 1, end_lr="min_lr", end_momentum="max_momentum")
        if not three_phase:
            return [up, {**last, "start_lr": "max_lr", "start_momentum": "base_momentum"}]
        down = dict(end_step=float(2 * pct * self.total_steps) - 2, start_lr="max_lr", end_lr="initial_lr")
        down.update(start_momentum="base_momentum", end_momentum="max_momentum")
        return [up, down, {**last, "start_lr": "initial_lr", "start_momentum": "max_momentum"}]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        self._set_momentum(group, momentum)
                    break
                start = end
        return lrs
