"""Exercises on normalisation: batch norm (training mode) and layer norm."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Exercise, Grads, Inputs, Mistakes, header
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


def norm_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": 3 * rng.standard_normal((6, 5)) + 2, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)}


def batchnorm_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(normalization.BatchNormTrain, inputs["x"], inputs["gamma"], inputs["beta"], None, None)
    return out, cache.backward(dout)[:3]


def layernorm_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    out, cache = run_forward(normalization.LayerNorm, x, gamma, beta, normalized_shape=x.shape[1:])
    return out, cache.backward(dout)


def norm_mistakes(axis: int):
    """Typical wrong dx, dgamma, dbeta of a normalisation over ``axis`` (0: batch, 1: layer)."""

    def mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
        x, gamma = inputs["x"], inputs["gamma"]
        x_hat, inv_std = stats(x, axis)
        a = gamma * dout
        through_mean = -a.mean(axis=axis, keepdims=True) * inv_std
        through_var = -x_hat * (a * x_hat).mean(axis=axis, keepdims=True) * inv_std
        direct = a * inv_std
        other = 1 - axis  # the learner's means over the other axis, with the right x̂ and s
        wrong_axis = a - a.mean(axis=other, keepdims=True) - x_hat * (a * x_hat).mean(axis=other, keepdims=True)
        return {
            "dx": [
                ("missing the term −x̂·mean(dx̂·x̂)/s: the path through the variance σ²", direct + through_mean),
                ("missing the term −mean(dx̂)/s: the path through the mean μ", direct + through_var),
                ("only the direct path dx̂/s: missing both the μ and the σ² terms", direct),
                ("forgot γ: used dout where dx̂ = γ·dout belongs", (direct + through_mean + through_var) / gamma),
                ("took the two means over the wrong axis", wrong_axis * inv_std),
            ],
            "dgamma": [("returned Σ dout (that is dbeta): dgamma = Σ dout·x̂", dout.sum(axis=0))],
            "dbeta": [("returned Σ dout·x̂ (that is dgamma): dbeta = Σ dout", (dout * x_hat).sum(axis=0))],
        }

    return mistakes


def stats(x: np.ndarray, axis: int, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """x̂ and 1/s over ``axis``, as the exercise's forward computes them."""
    inv_std = 1 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - x.mean(axis=axis, keepdims=True)) * inv_std, inv_std


EXERCISES = (
    Exercise(
        "batchnorm",
        "batch norm (training mode)",
        BATCHNORM,
        ("x", "gamma", "beta"),
        norm_inputs,
        batchnorm_reference,
        norm_mistakes(0),
    ),
    Exercise(
        "layernorm",
        "layer norm",
        LAYERNORM,
        ("x", "gamma", "beta"),
        norm_inputs,
        layernorm_reference,
        norm_mistakes(1),
    ),
)
