"""Exercises on normalisation: batch norm (training mode) and layer norm."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Backward, Case, Exercise, Inputs, Mistakes, header
from bprop.i18n import msg
from bprop.ops import normalization

HINTS = """    # Name the pieces: μ and σ² are the mean and (biased) variance {over},
    # s = √(σ² + ε), x̂ = (x − μ)/s, out = γ·x̂ + β.
    # 1. dbeta = Σ dout and dgamma = Σ dout·x̂, summed over the batch (γ and β are shared by
    #    every sample).
    # 2. dx̂ = γ·dout.
    # 3. x reaches x̂ along three paths: directly (∂x̂_i/∂x_i = 1/s), through μ
    #    (∂μ/∂x_j = 1/m) and through σ² (∂σ²/∂x_j = 2(x_j − μ)/m), with m = {m}. Add the three:
    #        dx = (1/s)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))
    #    with both means {over}.
    #    The two subtracted terms are the paths through μ and through σ².
"""

BATCHNORM_HINTS = HINTS.format(over="of each feature over the batch (axis 0)", m="N")
LAYERNORM_HINTS = HINTS.format(over="of each sample over its features (axis 1)", m="D")

BATCHNORM = (
    header("batch normalisation (training mode)", "batchnorm", "(dx, dgamma, dbeta)")
    + f'''

def forward(x, gamma, beta, eps=1e-5):
    """Normalise each feature (column) of x (N, D) over the batch, then scale and shift:
    out = γ·(x − μ)/√(σ² + ε) + β with the batch mean μ and biased variance σ² (axis 0)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


def backward(dout, cache):
    x_hat, std, gamma = cache
{BATCHNORM_HINTS}    raise NotImplementedError("write the backward pass of batch norm")
'''
)

LAYERNORM = (
    header("layer normalisation", "layernorm", "(dx, dgamma, dbeta)")
    + f'''

def forward(x, gamma, beta, eps=1e-5):
    """Normalise each sample (row) of x (N, D) over its D features, then scale and shift:
    out = γ·(x − μ)/√(σ² + ε) + β with the row's mean μ and biased variance σ² (axis 1)."""
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


def backward(dout, cache):
    x_hat, std, gamma = cache
{LAYERNORM_HINTS}    raise NotImplementedError("write the backward pass of layer norm")
'''
)


def norm_cases(rng: np.random.Generator, sizes: list[tuple[tuple[int, int], str]]) -> list[Case]:
    return [
        Case(
            {
                "x": 3 * rng.standard_normal(size) + 2,
                "gamma": rng.standard_normal(size[1]),
                "beta": rng.standard_normal(size[1]),
            },
            msg(note),
        )
        for size, note in sizes
    ]


def batchnorm_cases(rng: np.random.Generator) -> list[Case]:
    """A batch of 2, the smallest batch norm allows, and one feature alone among them."""
    return norm_cases(rng, [((6, 5), "case.plain"), ((2, 3), "case.plain"), ((9, 1), "case.plain")])


def layernorm_cases(rng: np.random.Generator) -> list[Case]:
    return norm_cases(rng, [((4, 6), "case.plain"), ((1, 7), "case.batch1"), ((3, 2), "case.plain")])


def batchnorm_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    out, cache = run_forward(normalization.BatchNormTrain, inputs["x"], inputs["gamma"], inputs["beta"], None, None)
    return out, lambda dout: cache.backward(dout)[:3]


def layernorm_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    out, cache = run_forward(normalization.LayerNorm, x, gamma, beta, normalized_shape=x.shape[1:])
    return out, cache.backward


def norm_mistakes(axis: int):
    """Typical wrong dx, dgamma, dbeta of a normalisation over ``axis`` (0: batch, 1: layer)."""

    def mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
        x, gamma = inputs["x"], inputs["gamma"]
        x_hat, inv_std = stats(x, axis)
        m = x.shape[axis]

        def dx(a: np.ndarray, var_sign: float = -1.0, var_count: float = m, mean_count: float = m, over: int = axis):
            """(a − Σa/mean_count + var_sign·x̂·Σ(a·x̂)/var_count)/s, sums over ``over``."""
            mean = a.sum(axis=over, keepdims=True) / mean_count
            var = x_hat * (a * x_hat).sum(axis=over, keepdims=True) / var_count
            return (a - mean + var_sign * var) * inv_std

        a = gamma * dout
        mine = [
            ("m.norm.no_var", (a - a.mean(axis=axis, keepdims=True)) * inv_std),
            ("m.norm.no_mean", dx(a) + a.mean(axis=axis, keepdims=True) * inv_std),
            ("m.norm.direct_only", a * inv_std),
            ("m.norm.no_gamma", dx(dout)),
            ("m.norm.var_sign", dx(a, var_sign=1.0)),
            ("m.norm.std_twice", dx(a) * inv_std),
        ]
        if m > 1:
            unbiased = msg("m.norm.unbiased", m=m, m_minus_1=m - 1)
            mine += [(unbiased, dx(a, var_count=m - 1)), (unbiased, dx(a, var_count=m - 1, mean_count=m - 1))]
        if x.shape[1 - axis] > 1:
            mine.append(
                ("m.norm.wrong_axis", dx(a, over=1 - axis, var_count=x.shape[1 - axis], mean_count=x.shape[1 - axis]))
            )
        return {
            "dx": [(msg(key) if isinstance(key, str) else key, array) for key, array in mine],
            "dgamma": [
                (msg("m.norm.gamma_is_beta"), dout.sum(axis=0)),
                (msg("m.norm.gamma_x"), (dout * x).sum(axis=0)),
            ],
            "dbeta": [(msg("m.norm.beta_is_gamma"), (dout * x_hat).sum(axis=0))],
        }

    return mistakes


def stats(x: np.ndarray, axis: int, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """x̂ and 1/s over ``axis``, as the exercise's forward computes them."""
    inv_std = 1 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - x.mean(axis=axis, keepdims=True)) * inv_std, inv_std


EXERCISES = (
    Exercise("batchnorm", BATCHNORM, ("x", "gamma", "beta"), batchnorm_cases, batchnorm_reference, norm_mistakes(0)),
    Exercise("layernorm", LAYERNORM, ("x", "gamma", "beta"), layernorm_cases, layernorm_reference, norm_mistakes(1)),
)
