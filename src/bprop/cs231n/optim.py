"""The course's update rules: ``rule(w, dw, config) -> (next_w, config)``.

``config`` holds the hyperparameters and the rule's state (velocity, caches, moments, step);
a rule fills in its defaults (the course's) when a key is missing and stores the new state in
``config`` for the next step. All arithmetic is elementwise on w's array.
"""

from __future__ import annotations

import numpy as np

Config = dict


def sgd(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """w ← w − lr·dw.   config: learning_rate=1e-2."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """v ← μ·v − lr·dw,  w ← w + v.   config: learning_rate=1e-2, momentum μ=0.9, velocity=0."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """cache ← ρ·cache + (1 − ρ)·dw²,  w ← w − lr·dw/(√cache + ε).
    config: learning_rate=1e-2, decay_rate ρ=0.99, epsilon ε=1e-8, cache=0."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache", np.zeros_like(w))
    rho = config["decay_rate"]
    cache = rho * cache + (1 - rho) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """Adam with bias correction, the step counter t incremented first:
        t ← t + 1,  m ← β₁·m + (1 − β₁)·dw,  v ← β₂·v + (1 − β₂)·dw²,
        w ← w − lr·(m/(1 − β₁ᵗ))/(√(v/(1 − β₂ᵗ)) + ε).
    config: learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, m=0, v=0, t=0."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] = t = config.get("t", 0) + 1
    config["m"] = m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
