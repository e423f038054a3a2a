"""VizRecorder: a fit-loop callback that collects what the training plots show.

Every ``every`` steps, the gradient norm of each weight; at the end of each epoch, the weights
and (on a fixed probe batch) the activations of every activation layer. Without it in the
callbacks nothing is collected, so it costs nothing when off.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bprop.nn import layers as L
from bprop.nn.summary import capture_outputs
from bprop.serialization import load, save
from bprop.tensor import Tensor
from bprop.train.callbacks import Callback

ACTIVATION_LAYERS = (L.ReLU, L.LeakyReLU, L.Sigmoid, L.Tanh, L.GELU)


class VizRecorder(Callback):
    def __init__(self, probe: Any = None, every: int = 10):
        self.probe = None if probe is None else np.asarray(probe)
        self.every = every
        self.steps: list[int] = []
        self.grad_norms: dict[str, list[float]] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.activations: dict[str, np.ndarray] = {}

    def on_batch_end(self, trainer: Any) -> None:
        if trainer.step % self.every:
            return
        self.steps.append(trainer.step)
        for name, p in trainer.model.named_parameters():
            if p.ndim >= 2 and p.grad is not None:
                self.grad_norms.setdefault(name, []).append(float(np.linalg.norm(np.asarray(p.grad))))

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        self.weights = {name: np.asarray(p).copy() for name, p in trainer.model.named_parameters() if p.ndim >= 2}
        if self.probe is not None:
            outputs = capture_outputs(trainer.model, Tensor(self.probe))
            self.activations = {
                f"{name} ({type(m).__name__})": out.copy()
                for name, m, out in outputs
                if isinstance(m, ACTIVATION_LAYERS)
            }

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "grad_norms": self.grad_norms,
            "weights": self.weights,
            "activations": self.activations,
        }

    def save(self, path: str | os.PathLike) -> None:
        save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> VizRecorder:
        state = load(path)
        recorder = cls()
        recorder.steps, recorder.grad_norms = list(state["steps"]), dict(state["grad_norms"])
        recorder.weights, recorder.activations = dict(state["weights"]), dict(state["activations"])
        return recorder
