"""Exercises on the dense ops: affine, relu, sigmoid, softmax cross-entropy, dropout."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Exercise, Grads, Inputs, Mistakes, header
from bprop.ops import activation, cross_entropy, elementwise, linalg

# --- affine ------------------------------------------------------------------------------------

AFFINE = (
    header("an affine (fully connected) layer", "affine", "(dx, dw, db)")
    + '''

def forward(x, w, b):
    """out = x @ w + b for x (N, D), w (D, M), b (M,)."""
    out = x @ w + b
    cache = (x, w, b)
    return out, cache


def backward(dout, cache):
    x, w, b = cache
    # out[n, m] = Σ_d x[n, d]·w[d, m] + b[m]. Differentiate one entry, then assemble:
    # - ∂out[n, m]/∂x[n, d] = w[d, m]: dx[n, d] = Σ_m dout[n, m]·w[d, m]  (a matrix product;
    #   let the shapes tell you which operand is transposed: dx must be (N, D))
    # - ∂out[n, m]/∂w[d, m] = x[n, d], and every sample n uses the same w: dw sums over n
    # - b[m] is added to every row: db[m] = Σ_n dout[n, m]
    raise NotImplementedError("write the backward pass of the affine layer")
'''
)


def affine_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": rng.standard_normal((5, 4)), "w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}


def affine_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(linalg.Linear, inputs["x"], inputs["w"].T, inputs["b"])
    dx, dw_t, db = cache.backward(dout)
    return out, (dx, dw_t.T, db)


def affine_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    """The affine layer's usual slips, a transposed product, db not summed over the batch and a
    stray factor, are the ones the generic checks of diagnose.py name."""
    return {}


# --- relu ----------------------------------------------------------------------------------------

RELU = (
    header("ReLU", "relu", "dx")
    + '''

def forward(x):
    """out = max(x, 0) elementwise."""
    out = np.maximum(x, 0)
    cache = x
    return out, cache


def backward(dout, cache):
    x = cache
    # out = max(x, 0) is x where x > 0 and the constant 0 elsewhere, so its local derivative is
    # 1 where x > 0 and 0 elsewhere (take 0 at x = 0). Chain rule: dx = dout · (local derivative).
    raise NotImplementedError("write the backward pass of ReLU")
'''
)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal samples kept ≥ 0.1 from the kink at 0, where finite differences break down."""
    z = rng.standard_normal(shape)
    return z + 0.1 * np.sign(z)


def relu_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": away_from_zero(rng, (5, 6))}


def relu_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(activation.ReLU, inputs["x"])
    return out, cache.backward(dout)


def relu_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x = inputs["x"]
    return {
        "dx": [
            ("returned the local derivative [x > 0] without multiplying by dout", (x > 0).astype(float)),
            ("multiplied dout by the output max(x, 0) instead of the mask [x > 0]", dout * np.maximum(x, 0)),
            ("passed dout where x < 0 and blocked it where x > 0 (mask inverted)", dout * (x < 0)),
        ]
    }


# --- sigmoid ---------------------------------------------------------------------------------------

SIGMOID = (
    header("the sigmoid", "sigmoid", "dx")
    + '''

def forward(x):
    """out = σ(x) = 1/(1 + e^(−x)) elementwise."""
    out = 1.0 / (1.0 + np.exp(-x))
    cache = out
    return out, cache


def backward(dout, cache):
    s = cache
    # dσ/dx = e^(−x)/(1 + e^(−x))² = σ(x)·(1 − σ(x)): write e^(−x)/(1 + e^(−x)) as 1 − σ(x).
    # The cache already holds σ(x), so no exponential is needed. Chain rule: dx = dout · σ'(x).
    raise NotImplementedError("write the backward pass of the sigmoid")
'''
)


def sigmoid_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(activation.Sigmoid, inputs["x"])
    return out, cache.backward(dout)


def sigmoid_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x = inputs["x"]
    s = 1 / (1 + np.exp(-x))
    return {
        "dx": [
            ("wrote σ'(x) with x where σ(x) belongs: dout·x·(1 − x)", dout * x * (1 - x)),
            ("dropped the σ(x) factor: dout·(1 − σ(x))", dout * (1 - s)),
            ("returned σ'(x) without multiplying by dout", s * (1 - s)),
        ]
    }


# --- softmax cross-entropy ---------------------------------------------------------------------------

SOFTMAX_CE = (
    header("softmax cross-entropy", "softmax_ce", "dx")
    + '''

def forward(x, y):
    """loss = −(1/N) Σ_n log softmax(x[n])[y[n]] for scores x (N, C) and labels y (N,)."""
    shifted = x - x.max(axis=1, keepdims=True)  # the same softmax, without overflow
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean()
    cache = (p, y)
    return loss, cache


def backward(dout, cache):
    p, y = cache
    # dout is a number here (∂L/∂loss; 1 when the loss is the end of the graph).
    # For one sample, L_n = −x[y] + log Σ_c e^(x[c]), so ∂L_n/∂x[c] = p[c] − [c = y]:
    # the softmax probabilities with 1 subtracted at the correct class.
    # The loss is the MEAN over the N samples: each sample's gradient is divided by N.
    raise NotImplementedError("write the backward pass of softmax cross-entropy")
'''
)


def softmax_ce_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": rng.standard_normal((6, 4)), "y": rng.integers(0, 4, 6)}


def softmax_ce_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(cross_entropy.CrossEntropy, inputs["x"], inputs["y"])
    return out, cache.backward(np.asarray(dout))[:1]


def softmax_ce_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x, y = inputs["x"], inputs["y"]
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    onehot = np.eye(x.shape[1])[y]
    return {
        "dx": [
            ("missing the term −[c = y]/N: the one-hot was not subtracted", dout * p / n),
            ("subtracted the one-hot at the wrong place (p − 1 everywhere)", dout * (p - 1) / n),
            ("used the scores x instead of the probabilities p", dout * (x - onehot) / n),
        ]
    }


# --- dropout ---------------------------------------------------------------------------------------------

DROPOUT = (
    header("inverted dropout", "dropout", "dx")
    + '''

def forward(x, keep=0.7, seed=0):
    """Keep each unit with probability ``keep`` and scale the kept ones by 1/keep, so that the
    expected output equals x. (The seed fixes the mask, so the checker can repeat it.)"""
    mask = np.random.default_rng(seed).random(x.shape) < keep
    out = x * mask / keep
    cache = (mask, keep)
    return out, cache


def backward(dout, cache):
    mask, keep = cache
    # out = x · m/keep with m fixed by the forward pass: for this x, a constant times x.
    # So dx = dout · (that constant): the dropped units get no gradient, the kept ones dout/keep.
    raise NotImplementedError("write the backward pass of dropout")
'''
)


def dropout_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": rng.standard_normal((6, 5)), "keep": 0.7, "seed": int(rng.integers(1000))}


def dropout_mask(inputs: Inputs) -> np.ndarray:
    return np.random.default_rng(inputs["seed"]).random(inputs["x"].shape) < inputs["keep"]


def dropout_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(elementwise.Mul, inputs["x"], dropout_mask(inputs) / inputs["keep"])
    return out, cache.backward(dout)[:1]


def dropout_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    mask = dropout_mask(inputs)
    return {
        "dx": [
            ("returned dout without the mask (dropped units must get no gradient)", dout / inputs["keep"]),
            ("multiplied by keep instead of dividing by it", dout * mask * inputs["keep"]),
        ]
    }


EXERCISES = (
    Exercise("affine", "an affine layer", AFFINE, ("x", "w", "b"), affine_inputs, affine_reference, affine_mistakes),
    Exercise(
        "relu", "ReLU", RELU, ("x",), lambda rng: {"x": away_from_zero(rng, (5, 6))}, relu_reference, relu_mistakes
    ),
    Exercise(
        "sigmoid",
        "the sigmoid",
        SIGMOID,
        ("x",),
        lambda rng: {"x": rng.standard_normal((5, 6))},
        sigmoid_reference,
        sigmoid_mistakes,
    ),
    Exercise(
        "softmax_ce",
        "softmax cross-entropy",
        SOFTMAX_CE,
        ("x",),
        softmax_ce_inputs,
        softmax_ce_reference,
        softmax_ce_mistakes,
    ),
    Exercise("dropout", "inverted dropout", DROPOUT, ("x",), dropout_inputs, dropout_reference, dropout_mistakes),
)
