"""LambdaLR: the initial learning rate times a factor the user computes from the epoch."""

from __future__ import annotations

import types
from typing import Any, Callable, Sequence

from bprop.optim.lr_scheduler.scheduler import LRScheduler
from bprop.optim.optimizer import Optimizer


class LambdaLR(LRScheduler):
    """η_t = η₀ · λ(t) for each param group, λ = ``lr_lambda`` (one function, or one per group).

    Not chainable: every epoch starts again from the initial learning rate η₀. The state dict
    holds a callable object's attributes but not a plain function or lambda (torch's rule:
    functions are code, not state), so give the same functions when resuming.

    Example (linear warm-up over 5 epochs):
        >>> sched = LambdaLR(opt, lr_lambda=lambda epoch: min(1.0, (epoch + 1) / 5))
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ):
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__) for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(attributes)
