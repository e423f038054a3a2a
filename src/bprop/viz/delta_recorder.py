"""DeltaRecorder: a fit callback that watches δ, layer by layer, while a model trains.

Through module hooks (torch's ``register_full_backward_hook`` and ``register_forward_hook``) it
records, for every Linear and Conv2d layer, δ = ∂C/∂(its output) — the notes' δ^l — as its norm
‖δ‖ at every step and a sample of its values for a histogram; and for every ReLU layer which
units (features, or channels of a feature map) were ever active (output > 0) during the epoch.

From these it gives plain verdicts:
  - vanishing gradients: the mean ‖δ‖ of the first layer is under 1/100 of the last layer's;
  - exploding gradients: over 100 times the last layer's, or δ not finite;
  - dead ReLUs: units never active over a whole epoch (they pass no gradient at all).
Without it in the callbacks no hook is registered, so it costs nothing when off.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bprop.i18n import text
from bprop.nn import layers as L
from bprop.serialization import load, save
from bprop.train.callbacks import Callback

DELTA_LAYERS = (L.Linear, L.Conv2d)
RELU_LAYERS = (L.ReLU,)
SAMPLE = 4096  # values of δ kept per layer for its histogram
VANISHING, EXPLODING = 1e-2, 1e2  # first layer's mean ‖δ‖ over the last layer's


class DeltaRecorder(Callback):
    def __init__(self, sample: int = SAMPLE):
        self.sample = sample
        self.layers: list[str] = []  # δ layers in forward order
        self.steps: list[int] = []
        self.norms: dict[str, list[float]] = {}
        self.deltas: dict[str, np.ndarray] = {}  # the latest δ sample of each layer
        self.dead: dict[str, tuple[int, int, int]] = {}  # ReLU layer → (epoch, never active, units)
        self._active: dict[str, np.ndarray] = {}
        self._handles: list[Any] = []
        self._step = 0

    # ----- hooks ------------------------------------------------------------------------
    def on_train_begin(self, trainer: Any) -> None:
        self.remove_hooks()
        for name, module in trainer.model.named_modules():
            label = f"{name} ({type(module).__name__})"
            if isinstance(module, DELTA_LAYERS):
                if label not in self.layers:
                    self.layers.append(label)
                self._handles.append(module.register_full_backward_hook(self._delta_hook(label)))
            elif isinstance(module, RELU_LAYERS):
                self._handles.append(module.register_forward_hook(self._activity_hook(label)))

    def _delta_hook(self, label: str) -> Any:
        def record(module: Any, grad_input: tuple, grad_output: tuple) -> None:
            delta = grad_output[0]
            if delta is None:
                return
            self.norms.setdefault(label, []).append(float(np.linalg.norm(delta)))
            flat = np.asarray(delta).reshape(-1)
            step = max(1, flat.size // self.sample)
            self.deltas[label] = np.array(flat[::step][: self.sample], dtype=np.float32)

        return record

    def _activity_hook(self, label: str) -> Any:
        def record(module: Any, args: tuple, output: Any) -> None:
            if not module.training:
                return  # evaluation passes do not count towards "never active while training"
            data = np.asarray(output)
            axes = tuple(i for i in range(data.ndim) if i != 1) if data.ndim > 1 else (0,)
            active = (data > 0).any(axis=axes)
            seen = self._active.get(label)
            self._active[label] = active if seen is None or seen.shape != active.shape else seen | active

        return record

    def on_train_end(self, trainer: Any) -> None:
        # the model outlives fit: hooks left on it would keep recording, and their extra graph
        # nodes would stand in the way of gradcheck_graph and the viewer
        self.remove_hooks()

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # ----- the loop ---------------------------------------------------------------------
    def on_batch_end(self, trainer: Any) -> None:
        self._step += 1
        self.steps.append(self._step)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        epoch = int(logs.get("epoch", len(getattr(trainer.history, "epochs", [])) or 1))
        for label, active in self._active.items():
            self.dead[label] = (epoch, int((~active).sum()), int(active.size))
        self._active = {}

    # ----- verdicts ---------------------------------------------------------------------
    def mean_norms(self, last: int = 50) -> dict[str, float]:
        """Mean ‖δ‖ of each layer over its ``last`` records, in forward order."""
        return {label: float(np.mean(self.norms[label][-last:])) for label in self.layers if self.norms.get(label)}

    def verdicts(self, lang: str = "en") -> list[str]:
        """Plain sentences about the gradients and the ReLUs, in ``lang`` ("en" or "zh")."""
        found = []
        means = self.mean_norms()
        if len(means) >= 2:
            (first, a), (last, b) = next(iter(means.items())), list(means.items())[-1]
            sizes = {"first": first, "last": last, "a": f"{a:.3g}", "b": f"{b:.3g}"}
            if not all(np.isfinite(v) for v in means.values()):
                found.append(text("verdict.not_finite", lang))
            elif b == 0 or a / b > EXPLODING:
                found.append(text("verdict.exploding", lang, ratio=f"{a / b if b else float('inf'):.3g}", **sizes))
            elif a / b < VANISHING:
                found.append(text("verdict.vanishing", lang, ratio=f"{a / b:.2g}", **sizes))
            else:
                found.append(text("verdict.flow", lang, ratio=f"{max(a / b, b / a):.3g}"))
        for label, (epoch, dead, units) in self.dead.items():
            if dead:
                advice = text("verdict.dead_advice", lang) if dead > units / 2 else ""
                found.append(
                    text("verdict.dead", lang, dead=dead, units=units, label=label, epoch=epoch, advice=advice)
                )
        if self.dead and not any(dead for _, dead, _ in self.dead.values()):
            found.append(text("verdict.none_dead", lang))
        return found

    def __repr__(self) -> str:
        return "\n".join([f"DeltaRecorder: {len(self.layers)} layers, {len(self.steps)} steps", *self.verdicts()])

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import delta_recorder_html

        return delta_recorder_html(self)

    # ----- persistence ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "steps": list(self.steps),
            "norms": {k: list(v) for k, v in self.norms.items()},
            "deltas": dict(self.deltas),
            "dead": {k: list(v) for k, v in self.dead.items()},
        }

    def save(self, path: str | os.PathLike) -> None:
        save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DeltaRecorder:
        state = load(path)
        recorder = cls()
        recorder.layers, recorder.steps = list(state["layers"]), list(state["steps"])
        recorder.norms = {k: list(v) for k, v in state["norms"].items()}
        recorder.deltas = dict(state["deltas"])
        recorder.dead = {k: tuple(int(x) for x in v) for k, v in state["dead"].items()}
        return recorder
