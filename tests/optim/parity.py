"""Run a bprop optimizer and torch's side by side on the same random float64 problem.

The gradients come from NumPy formulas (not from autograd), so these tests exercise only the
update rules: each side's gradient is computed from its own current parameters, so any
difference in an update shows up in every later step.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop import optim

SHAPES = [(3, 4), (5,), (1,)]  # a matrix, a vector, a size-1 parameter


class Problem:
    """f(θ) = Σ_k ½ θ_kᵀ A_k θ_k − c_kᵀ θ_k + ¼ Σ θ_k⁴ (A_k symmetric positive definite).

    The quartic term makes the gradient non-linear; the last parameter gets no gradient
    (``.grad`` stays None) so every optimizer must leave it untouched.
    """

    def __init__(self, seed: int = 0, dtype: Any = np.float64):
        rng = np.random.default_rng(seed)
        self.init = [rng.standard_normal(shape).astype(dtype) for shape in [*SHAPES, (2,)]]
        self.quad = []
        for shape in SHAPES:
            n = int(np.prod(shape))
            m = rng.standard_normal((n, n))
            self.quad.append((m @ m.T / n + np.eye(n), rng.standard_normal(n)))
        self.dtype = dtype

    def grads(self, values: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for theta, (a, c) in zip(values, self.quad):
            flat = theta.astype(np.float64).ravel()
            out.append((a @ flat - c + flat**3).reshape(theta.shape).astype(self.dtype))
        return out

    def bprop_params(self) -> list[bp.Tensor]:
        return [bp.tensor(v.copy(), dtype=self.dtype, requires_grad=True) for v in self.init]

    def torch_params(self, torch: Any) -> list[Any]:
        return [torch.tensor(v.copy(), requires_grad=True) for v in self.init]

    def set_grads(self, ours: list[bp.Tensor], theirs: list[Any] | None, torch: Any = None, sign: float = 1.0) -> None:
        """Gradients of sign·f (sign −1 with maximize=True, so that ascent still converges)."""
        for p, g in zip(ours, self.grads([p.detach().numpy() for p in ours])):
            p.grad = bp.tensor(sign * g, dtype=p.dtype)
        if theirs is not None:
            for p, g in zip(theirs, self.grads([p.detach().numpy() for p in theirs])):
                p.grad = torch.tensor(sign * g)


def run_parity(name: str, config: dict[str, Any], steps: int = 12, tol: float = 1e-10) -> None:
    """``steps`` updates of optim.<name>(**config) and torch.optim.<name>(**config) agree to tol."""
    torch = pytest.importorskip("torch")
    problem = Problem()
    ours, theirs = problem.bprop_params(), problem.torch_params(torch)
    opt = getattr(optim, name)(ours, **config)
    ref = getattr(torch.optim, name)(theirs, **config)
    for _ in range(steps):
        opt.zero_grad()
        ref.zero_grad()
        problem.set_grads(ours, theirs, torch, sign=-1.0 if config.get("maximize") else 1.0)
        opt.step()
        ref.step()
    for i, (mine, other) in enumerate(zip(ours, theirs)):
        assert np.isfinite(mine.data).all(), f"param {i} diverged: pick a smaller lr"
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=tol, atol=tol, err_msg=f"param {i}")
    np.testing.assert_array_equal(ours[-1].data, problem.init[-1])  # no grad: untouched


def grid(**options: list[Any]) -> list[dict[str, Any]]:
    """Every combination of the given option values, as keyword dicts."""
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


def label(config: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items())


def run_round_trip(make: Any, tmp_path: Any, steps: int = 6) -> None:
    """Steps interrupted by a save/load of params + optimizer state continue bit-identically."""
    problem = Problem(seed=1)

    def run(params: list[bp.Tensor], opt: optim.Optimizer, n: int) -> None:
        for _ in range(n):
            opt.zero_grad()
            problem.set_grads(params, None)
            opt.step()

    straight = problem.bprop_params()
    run(straight, make(straight), steps)
    first = problem.bprop_params()
    opt = make(first)
    run(first, opt, steps // 2)
    bp.save({"params": [p.data for p in first], "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    saved = bp.load(tmp_path / "ckpt.npz")
    resumed = problem.bprop_params()
    for p, data in zip(resumed, saved["params"]):
        p.data[...] = data
    opt2 = make(resumed)
    opt2.load_state_dict(saved["optim"])
    run(resumed, opt2, steps - steps // 2)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)
