"""Exercises on the dense ops: affine, relu, sigmoid, softmax cross-entropy, dropout."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Backward, Case, Exercise, Grads, Inputs, Mistakes, header
from bprop.i18n import msg
from bprop.ops import activation, cross_entropy, elementwise, linalg

NOTE = msg("case.plain")

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


def affine_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case({"x": rng.standard_normal((5, 4)), "w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}, NOTE),
        Case(
            {"x": rng.standard_normal((1, 3)), "w": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)},
            msg("case.batch1"),
        ),
        Case({"x": rng.standard_normal((7, 2)), "w": rng.standard_normal((2, 5)), "b": rng.standard_normal(5)}, NOTE),
    ]


def affine_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    out, cache = run_forward(linalg.Linear, inputs["x"], inputs["w"].T, inputs["b"])

    def backward(dout: np.ndarray) -> Grads:
        dx, dw_t, db = cache.backward(dout)
        return dx, dw_t.T, db

    return out, backward


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
    # 1 where x > 0 and 0 elsewhere (take 0 at x = 0 exactly, as torch does).
    # Chain rule: dx = dout · (local derivative).
    raise NotImplementedError("write the backward pass of ReLU")
'''
)


def with_zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal samples with about a third of them exactly 0, the kink (as after a ReLU or a max pool)."""
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.35] = 0.0
    x.flat[0] = 0.0
    return x


def relu_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case({"x": with_zeros(rng, (4, 6))}, msg("case.zeros"), kinks=True),
        Case({"x": rng.standard_normal((1, 7))}, msg("case.batch1")),
        Case({"x": with_zeros(rng, (3, 5))}, msg("case.zeros"), kinks=True),
    ]


def op_reference(op: type, *args: object, **attrs: object) -> tuple[np.ndarray, Backward]:
    """bprop's forward of ``op`` and a function giving its gradients for a dout."""
    out, cache = run_forward(op, *args, **attrs)
    return out, cache.backward


def relu_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x = inputs["x"]
    return {
        "dx": [
            (msg("m.relu.no_dout"), (x > 0).astype(float)),
            (msg("m.relu.times_out"), dout * np.maximum(x, 0)),
            (msg("m.relu.inverted"), dout * (x < 0)),
            (msg("m.relu.inverted"), dout * (x <= 0)),
            (msg("m.relu.at_zero"), dout * (x >= 0)),
            (msg("m.relu.on_dout"), np.maximum(dout, 0)),
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


def sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case({"x": 2 * rng.standard_normal((5, 6))}, NOTE),
        Case({"x": rng.standard_normal((1, 3))}, msg("case.batch1")),
    ]


def sigmoid_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    s = 1 / (1 + np.exp(-inputs["x"]))
    twice = 1 / (1 + np.exp(-s))
    return {
        "dx": [
            (msg("m.sigmoid.twice"), dout * twice * (1 - twice)),
            (msg("m.sigmoid.twice"), dout * np.exp(-s) / (1 + np.exp(-s)) ** 2),
            (msg("m.sigmoid.no_s"), dout * (1 - s)),
            (msg("m.sigmoid.no_dout"), s * (1 - s)),
            (msg("m.sigmoid.one_plus"), dout * s * (1 + s)),
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


def softmax_ce_cases(rng: np.random.Generator) -> list[Case]:
    """dout, the loss's upstream gradient, is a number here: 1 would hide a backward that ignores
    it, and a negative one shows that its sign counts."""
    return [
        Case({"x": rng.standard_normal((6, 4)), "y": np.array([2, 0, 2, 0, 1, 2])}, NOTE, dout=0.6),
        Case({"x": rng.standard_normal((1, 5)), "y": np.array([3])}, msg("case.batch1"), dout=-1.3),
        Case(
            {"x": 3 * rng.standard_normal((5, 3)), "y": np.array([1, 1, 0, 2, 1])},
            msg("case.negative_dout", dout=-0.8),
            dout=-0.8,
        ),
    ]


def softmax_ce_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    out, cache = run_forward(cross_entropy.CrossEntropy, inputs["x"], inputs["y"])
    return out, lambda dout: cache.backward(np.asarray(dout))[:1]


def softmax_ce_mistakes(inputs: Inputs, dout: float) -> Mistakes:
    x, y = inputs["x"], inputs["y"]
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    onehot = np.eye(x.shape[1])[y]
    columns = p.copy()
    columns[:, y] -= 1
    return {
        "dx": [
            (msg("m.ce.no_onehot"), dout * p / n),
            (msg("m.ce.everywhere"), dout * (p - 1) / n),
            (msg("m.ce.scores"), dout * (x - onehot) / n),
            (msg("m.ce.columns"), dout * columns / n),
            (msg("m.ce.log_p"), dout * (np.log(p) - onehot) / n),
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


def dropout_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case({"x": rng.standard_normal((6, 5)), "keep": 0.7, "seed": int(rng.integers(1000))}, NOTE),
        Case({"x": rng.standard_normal((1, 9)), "keep": 0.4, "seed": int(rng.integers(1000))}, msg("case.batch1")),
    ]


def dropout_mask(inputs: Inputs) -> np.ndarray:
    return np.random.default_rng(inputs["seed"]).random(inputs["x"].shape) < inputs["keep"]


def dropout_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    out, cache = run_forward(elementwise.Mul, inputs["x"], dropout_mask(inputs) / inputs["keep"])
    return out, lambda dout: cache.backward(dout)[:1]


def dropout_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    mask, keep = dropout_mask(inputs), inputs["keep"]
    return {
        "dx": [
            (msg("m.dropout.no_mask"), dout / keep),
            (msg("m.dropout.times_keep"), dout * mask * keep),
            (msg("m.dropout.no_scale"), dout * mask),
            (msg("m.dropout.inverted"), dout * ~mask / keep),
            (msg("m.dropout.inverted"), dout * ~mask),
        ]
    }


EXERCISES = (
    Exercise("affine", AFFINE, ("x", "w", "b"), affine_cases, affine_reference, affine_mistakes),
    Exercise("relu", RELU, ("x",), relu_cases, lambda i: op_reference(activation.ReLU, i["x"]), relu_mistakes),
    Exercise(
        "sigmoid", SIGMOID, ("x",), sigmoid_cases, lambda i: op_reference(activation.Sigmoid, i["x"]), sigmoid_mistakes
    ),
    Exercise("softmax_ce", SOFTMAX_CE, ("x",), softmax_ce_cases, softmax_ce_reference, softmax_ce_mistakes),
    Exercise("dropout", DROPOUT, ("x",), dropout_cases, dropout_reference, dropout_mistakes),
)
