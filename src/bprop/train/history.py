"""History: what fit() measured, per epoch and per step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = ""

    def __getitem__(self, key: str) -> list[float]:
        """One metric over epochs, e.g. ``history["val_accuracy"]``."""
        return [e[key] for e in self.epochs if key in e]

    @property
    def last(self) -> dict[str, float]:
        return self.epochs[-1] if self.epochs else {}

    def __repr__(self) -> str:
        last = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.last.items())
        stop = f"; stopped: {self.stop_reason}" if self.stop_reason else ""
        return f"History({len(self.epochs)} epochs, {len(self.steps)} steps; last epoch: {last or '-'}{stop})"

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import history_html

        return history_html(self)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "steps": self.steps, "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = [dict(e) for e in state["epochs"]]
        self.steps = [dict(s) for s in state["steps"]]
        self.stop_reason = state.get("stop_reason", "")
