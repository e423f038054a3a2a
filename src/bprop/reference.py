"""Textbook versions of the CNN ops, loop for loop, to read next to docs/cnn-backprop.md.

They follow the notes' notation for one image and are deliberately slow: tests use them as
oracles for the fast im2col path in bprop.ops.conv, and teachers can step through them.
Never used in training.

Notation: input x of C channels and H×W pixels, kernel W of R×S per channel pair, stride
(u, v), zero padding (a, b), output P×Q with P = ⌊(H + 2a − R)/u⌋ + 1, Q = ⌊(W + 2b − S)/v⌋ + 1.
Arrays are (C, H, W) for images and (O, C, R, S) for kernels.
"""

from __future__ import annotations

import numpy as np


def pad(x: np.ndarray, a: int, b: int, value: float = 0.0) -> np.ndarray:
    """x̃: x with a rows above and below and b columns left and right of ``value``."""
    c, h, w = x.shape
    out = np.full((c, h + 2 * a, w + 2 * b), value, dtype=np.float64)
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                out[ch, i + a, j + b] = x[ch, i, j]
    return out


def output_size(h: int, w: int, r: int, s: int, u: int, v: int, a: int, b: int) -> tuple[int, int]:
    """P = ⌊(H + 2a − R)/u⌋ + 1,  Q = ⌊(W + 2b − S)/v⌋ + 1."""
    return (h + 2 * a - r) // u + 1, (w + 2 * b - s) // v + 1


def cross_correlate(
    x: np.ndarray, k: np.ndarray, bias: np.ndarray | None = None, u: int = 1, v: int = 1, a: int = 0, b: int = 0
) -> np.ndarray:
    """z[o, p, q] = bias[o] + Σ_c Σ_r Σ_s k[o, c, r, s] · x̃[c, p·u + r, q·v + s]  (what CNNs compute)."""
    o_ch, c_ch, r_size, s_size = k.shape
    xp = pad(x, a, b)
    p_size, q_size = output_size(x.shape[1], x.shape[2], r_size, s_size, u, v, a, b)
    z = np.zeros((o_ch, p_size, q_size))
    for o in range(o_ch):
        for p in range(p_size):
            for q in range(q_size):
                total = 0.0 if bias is None else float(bias[o])
                for c in range(c_ch):
                    for r in range(r_size):
                        for s in range(s_size):
                            total += k[o, c, r, s] * xp[c, p * u + r, q * v + s]
                z[o, p, q] = total
    return z


def rotate180(k: np.ndarray) -> np.ndarray:
    """k rotated by 180° in its last two dims: rot[…, r, s] = k[…, R−1−r, S−1−s]."""
    r_size, s_size = k.shape[-2:]
    out = np.empty_like(k, dtype=np.float64)
    for r in range(r_size):
        for s in range(s_size):
            out[..., r, s] = k[..., r_size - 1 - r, s_size - 1 - s]
    return out


def convolve_full(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """True ("full") 2-D convolution of one channel x (H×W) with one kernel k (R×S):

        y[i, j] = Σ_r Σ_s k[r, s] · x[i − r, j − s]   for 0 ≤ i < H + R − 1, 0 ≤ j < W + S − 1

    (terms outside x are 0). It equals the cross-correlation of x padded by R−1, S−1 with the
    180°-rotated kernel — the identity that makes the backward pass a convolution.
    """
    h, w = x.shape
    r_size, s_size = k.shape
    y = np.zeros((h + r_size - 1, w + s_size - 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for r in range(r_size):
                for s in range(s_size):
                    if 0 <= i - r < h and 0 <= j - s < w:
                        y[i, j] += k[r, s] * x[i - r, j - s]
    return y


def dilate(delta: np.ndarray, u: int, v: int) -> np.ndarray:
    """Insert u−1 zero rows and v−1 zero columns between the entries of δ (P×Q): the stride
    skipped those positions in the forward pass, so they receive no gradient."""
    p_size, q_size = delta.shape
    out = np.zeros(((p_size - 1) * u + 1, (q_size - 1) * v + 1))
    for p in range(p_size):
        for q in range(q_size):
            out[p * u, q * v] = delta[p, q]
    return out


def conv_backward(
    x: np.ndarray, k: np.ndarray, delta: np.ndarray, u: int = 1, v: int = 1, a: int = 0, b: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the cross-correlation for δ = ∂C/∂z (O, P, Q), as derived in the docs:

        ∂C/∂x[c] = crop_a,b( Σ_o convolve_full(dilate(δ[o]), k[o, c]) )
        ∂C/∂k[o, c, r, s] = Σ_p Σ_q δ[o, p, q] · x̃[c, p·u + r, q·v + s]   (x̃ cross-correlated with δ)
        ∂C/∂bias[o] = Σ_p Σ_q δ[o, p, q]

    convolve_full(δ′, k) is the true convolution; in deep learning's vocabulary it is the "full
    convolution with the rotated kernel": cross_correlate(δ′ padded by R−1, S−1, rotate180(k)).
    The stride dilates δ (the positions it skipped get no gradient) and the crop removes the
    padding, which carried no parameter.
    """
    o_ch, c_ch, r_size, s_size = k.shape
    _, h, w = x.shape
    xp = pad(x, a, b)
    dx = np.zeros(x.shape)
    for c in range(c_ch):
        full = np.zeros((h + 2 * a + r_size - 1, w + 2 * b + s_size - 1))
        for o in range(o_ch):
            contribution = convolve_full(dilate(delta[o], u, v), k[o, c])
            full[: contribution.shape[0], : contribution.shape[1]] += contribution
        dx[c] = full[a : a + h, b : b + w]  # rows/columns the stride never reached keep 0
    dk = np.zeros(k.shape)
    for o in range(o_ch):
        for c in range(c_ch):
            for r in range(r_size):
                for s in range(s_size):
                    for p in range(delta.shape[1]):
                        for q in range(delta.shape[2]):
                            dk[o, c, r, s] += delta[o, p, q] * xp[c, p * u + r, q * v + s]
    db = np.array([delta[o].sum() for o in range(o_ch)])
    return dx, dk, db


def max_pool(x: np.ndarray, r_size: int, s_size: int, u: int, v: int, a: int = 0, b: int = 0) -> np.ndarray:
    """y[c, p, q] = max_{r,s} x̃[c, p·u + r, q·v + s], padding with −∞."""
    xp = pad(x, a, b, value=-np.inf)
    p_size, q_size = output_size(x.shape[1], x.shape[2], r_size, s_size, u, v, a, b)
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                y[c, p, q] = max(xp[c, p * u + r, q * v + s] for r in range(r_size) for s in range(s_size))
    return y


def max_pool_backward(
    x: np.ndarray, delta: np.ndarray, r_size: int, s_size: int, u: int, v: int, a: int = 0, b: int = 0
) -> np.ndarray:
    """The gradient of each window goes to its argmax (the first one on ties), nowhere else."""
    xp = pad(x, a, b, value=-np.inf)
    dxp = np.zeros(xp.shape)
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                best, where = -np.inf, (0, 0)
                for r in range(r_size):
                    for s in range(s_size):
                        if xp[c, p * u + r, q * v + s] > best:
                            best, where = xp[c, p * u + r, q * v + s], (p * u + r, q * v + s)
                dxp[c, where[0], where[1]] += delta[c, p, q]
    return dxp[:, a : a + x.shape[1], b : b + x.shape[2]]


def avg_pool(x: np.ndarray, r_size: int, s_size: int, u: int, v: int, a: int = 0, b: int = 0) -> np.ndarray:
    """y[c, p, q] = (1/(R·S)) Σ_{r,s} x̃[c, p·u + r, q·v + s], zero padding counted."""
    xp = pad(x, a, b)
    p_size, q_size = output_size(x.shape[1], x.shape[2], r_size, s_size, u, v, a, b)
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                window = [xp[c, p * u + r, q * v + s] for r in range(r_size) for s in range(s_size)]
                y[c, p, q] = sum(window) / (r_size * s_size)
    return y


def avg_pool_backward(
    x: np.ndarray, delta: np.ndarray, r_size: int, s_size: int, u: int, v: int, a: int = 0, b: int = 0
) -> np.ndarray:
    """Each window spreads δ/(R·S) evenly over its pixels; overlapping windows add up."""
    dxp = np.zeros((x.shape[0], x.shape[1] + 2 * a, x.shape[2] + 2 * b))
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                for r in range(r_size):
                    for s in range(s_size):
                        dxp[c, p * u + r, q * v + s] += delta[c, p, q] / (r_size * s_size)
    return dxp[:, a : a + x.shape[1], b : b + x.shape[2]]
