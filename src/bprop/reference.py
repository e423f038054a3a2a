"""The textbook twin of ``bprop.ops``: every op family written out loop for loop, in the notes'
notation, to read next to the derivations (docs/cnn-backprop.md), to step through when teaching,
and as the torch-free oracle of the op table (tests/ops/op_db.py). Deliberately slow; never used
in training.

Families, each a forward and its hand-derived backward:
  affine        z = W·a + b;  ∂C/∂W = δ·aᵀ,  ∂C/∂a = Wᵀ·δ,  ∂C/∂b = δ   (one sample)
  activations   sigmoid/sigmoid_prime, tanh/tanh_prime, relu/relu_prime,
                leaky_relu/leaky_relu_prime, gelu/gelu_prime, identity/identity_prime;
                softmax and log_softmax of one vector with their Jacobians
  losses        cross-entropy from logits (δ = p − y), NLL, MSE, L1, smooth L1, Huber, KL
                divergence, BCE with logits
  batch norm    training (batch statistics, the three-term ∂C/∂x) and evaluation
  dropout       with a given keep mask
  conv, pools   cross-correlation and its backward as a convolution, max and average pooling

Activations work elementwise on arrays (or floats); their formulas are the notes' σ and σ′. The
other families loop over samples, classes, channels and pixels explicitly, so each line is one
term of the sum in the derivation.

CNN notation: input x of C channels and H×W pixels, kernel W of R×S per channel pair, stride
(u, v), zero padding (a, b), output P×Q with P = ⌊(H + 2a − R)/u⌋ + 1, Q = ⌊(W + 2b − S)/v⌋ + 1.
Arrays are (C, H, W) for images and (O, C, R, S) for kernels.
"""

from __future__ import annotations

import itertools
import math

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


def border_source(j: int, n: int, before: int, mode: str) -> int:
    """The input position padded position j copies: reflect mirrors about the edge element,
    replicate repeats it, circular wraps around."""
    k = j - before
    if mode == "reflect":
        return -k if k < 0 else (2 * (n - 1) - k if k >= n else k)
    if mode == "replicate":
        return min(max(k, 0), n - 1)
    return k % n  # circular


def pad_border(x: np.ndarray, pad: tuple, mode: str) -> np.ndarray:
    """y[j] = x[source(j)] per padded dim, ``pad`` as torch ((left, right) of the last dim first)."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    y = np.zeros(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths)))
    for j in np.ndindex(y.shape):
        y[j] = x[tuple(border_source(jd, n, lo, mode) for jd, n, (lo, _) in zip(j, x.shape, widths))]
    return y


def pad_border_backward(delta: np.ndarray, x: np.ndarray, pad: tuple, mode: str) -> np.ndarray:
    """Each padded position's δ back to the input element it copied; they add up."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    dx = np.zeros(x.shape)
    for j in np.ndindex(delta.shape):
        dx[tuple(border_source(jd, n, lo, mode) for jd, n, (lo, _) in zip(j, x.shape, widths))] += delta[j]
    return dx


def pool_size(h: int, r: int, u: int, a: int, d: int = 1, ceil_mode: bool = False) -> int:
    """P = ⌊(H + 2a − d(R − 1) − 1)/u⌋ + 1; with ceil_mode ⌈…⌉ + 1, less one if the last window
    would start in the right padding (torch's rule)."""
    reach = h + 2 * a - d * (r - 1) - 1
    p = (math.ceil(reach / u) if ceil_mode else reach // u) + 1
    if ceil_mode and (p - 1) * u >= h + a:
        p -= 1
    return p


def _window_argmax(
    x: np.ndarray, c: int, p: int, q: int, r_size: int, s_size: int, u: int, v: int, a: int, b: int, d1=1, d2=1
) -> tuple[int, int]:
    """(i, j) in x of the maximum of window (p, q) of channel c, torch's rule: scanning the
    window row by row, a larger value or a NaN takes over, so the first maximum wins ties and the
    last NaN wins when there is one (y is NaN then). Padding is −∞ and no candidate: only the
    window's real pixels are scanned, so a window of −∞ pixels still has its argmax. Taps are
    d apart (dilation)."""
    best: tuple[int, int] | None = None
    for r in range(r_size):
        for s in range(s_size):
            i, j = p * u + r * d1 - a, q * v + s * d2 - b
            if not (0 <= i < x.shape[1] and 0 <= j < x.shape[2]):
                continue  # a padding position
            if best is None or x[c, i, j] > x[c, best[0], best[1]] or math.isnan(x[c, i, j]):
                best = (i, j)
    assert best is not None, "padding is at most half the kernel, so every window holds a pixel"
    return best


def max_pool(
    x: np.ndarray,
    r_size: int,
    s_size: int,
    u: int,
    v: int,
    a: int = 0,
    b: int = 0,
    d1: int = 1,
    d2: int = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """y[c, p, q] = max_{r,s} x̃[c, p·u + r·d₁, q·v + s·d₂], x̃ padded with −∞ (NaN if the window has one)."""
    p_size, q_size = (
        pool_size(x.shape[1], r_size, u, a, d1, ceil_mode),
        pool_size(x.shape[2], s_size, v, b, d2, ceil_mode),
    )
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                i, j = _window_argmax(x, c, p, q, r_size, s_size, u, v, a, b, d1, d2)
                y[c, p, q] = x[c, i, j]
    return y


def max_pool_indices(x: np.ndarray, *args: int, ceil_mode: bool = False) -> np.ndarray:
    """The flat index i·W + j of each window's argmax (torch's return_indices), same arguments as max_pool."""
    y = max_pool(x, *args, ceil_mode=ceil_mode)
    index = np.zeros(y.shape, np.int64)
    for c in range(y.shape[0]):
        for p in range(y.shape[1]):
            for q in range(y.shape[2]):
                i, j = _window_argmax(x, c, p, q, *args)
                index[c, p, q] = i * x.shape[2] + j
    return index


def max_pool_backward(
    x: np.ndarray,
    delta: np.ndarray,
    r_size: int,
    s_size: int,
    u: int,
    v: int,
    a: int = 0,
    b: int = 0,
    d1: int = 1,
    d2: int = 1,
) -> np.ndarray:
    """The gradient of each window goes to its argmax (the first one on ties), nowhere else."""
    dx = np.zeros(x.shape)
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                i, j = _window_argmax(x, c, p, q, r_size, s_size, u, v, a, b, d1, d2)
                dx[c, i, j] += delta[c, p, q]
    return dx


def max_pool_argmax(
    x: np.ndarray, r_size: int, s_size: int, u: int, v: int, a: int = 0, b: int = 0
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """For one channel x (H×W): ((p, q), (i, j)) for every window, (i, j) being the input pixel
    that holds the window's maximum (the first one on ties) — where max pooling routes δ[p, q]."""
    xp = pad(x[None], a, b, value=-np.inf)[0]
    p_size, q_size = output_size(x.shape[0], x.shape[1], r_size, s_size, u, v, a, b)
    routes = []
    for p in range(p_size):
        for q in range(q_size):
            best, where = -np.inf, (0, 0)
            for r in range(r_size):
                for s in range(s_size):
                    if xp[p * u + r, q * v + s] > best:
                        best, where = xp[p * u + r, q * v + s], (p * u + r - a, q * v + s - b)
            routes.append(((p, q), where))
    return routes


def _avg_divisor(
    h: int, w: int, i0: int, j0: int, r_size: int, s_size: int, a: int, b: int, count_include_pad: bool
) -> int:
    """torch's divisor of the window starting at padded (i0, j0): its part inside the padded
    input, or (count_include_pad=False) its real pixels only."""
    i1, j1 = min(i0 + r_size, h + 2 * a), min(j0 + s_size, w + 2 * b)
    if count_include_pad:
        return (i1 - i0) * (j1 - j0)
    rows = min(i1, h + a) - max(i0, a)
    cols = min(j1, w + b) - max(j0, b)
    return rows * cols


def avg_pool(
    x: np.ndarray,
    r_size: int,
    s_size: int,
    u: int,
    v: int,
    a: int = 0,
    b: int = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """y[c, p, q] = (1/D) Σ_{r,s} x̃[c, p·u + r, q·v + s], zero padding x̃; D = R·S by default
    (see _avg_divisor for ceil_mode and count_include_pad), or divisor_override."""
    h, w = x.shape[1], x.shape[2]
    p_size, q_size = pool_size(h, r_size, u, a, 1, ceil_mode), pool_size(w, s_size, v, b, 1, ceil_mode)
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                total = 0.0
                for r in range(r_size):
                    for s in range(s_size):
                        i, j = p * u + r - a, q * v + s - b
                        if 0 <= i < h and 0 <= j < w:
                            total += x[c, i, j]
                divisor = divisor_override or _avg_divisor(h, w, p * u, q * v, r_size, s_size, a, b, count_include_pad)
                y[c, p, q] = total / divisor
    return y


def avg_pool_backward(
    x: np.ndarray,
    delta: np.ndarray,
    r_size: int,
    s_size: int,
    u: int,
    v: int,
    a: int = 0,
    b: int = 0,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Each window spreads δ/D evenly over its pixels; overlapping windows add up."""
    h, w = x.shape[1], x.shape[2]
    dx = np.zeros(x.shape)
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                divisor = divisor_override or _avg_divisor(h, w, p * u, q * v, r_size, s_size, a, b, count_include_pad)
                for r in range(r_size):
                    for s in range(s_size):
                        i, j = p * u + r - a, q * v + s - b
                        if 0 <= i < h and 0 <= j < w:
                            dx[c, i, j] += delta[c, p, q] / divisor
    return dx


def _adaptive_window(i: int, size: int, out: int) -> range:
    """Cells of window i of ``out`` over ``size``: ⌊i·size/out⌋ … ⌈(i + 1)·size/out⌉ − 1."""
    return range((i * size) // out, -(-((i + 1) * size) // out))


def adaptive_avg_pool(x: np.ndarray, p_size: int, q_size: int) -> np.ndarray:
    """y[c, p, q] = the mean of x[c] over rows _adaptive_window(p) × columns _adaptive_window(q)."""
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                cells = [
                    x[c, i, j]
                    for i in _adaptive_window(p, x.shape[1], p_size)
                    for j in _adaptive_window(q, x.shape[2], q_size)
                ]
                y[c, p, q] = sum(cells) / len(cells)
    return y


def adaptive_avg_pool_backward(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Each window's δ, divided by its size, to each of its cells (windows may overlap)."""
    dx = np.zeros(x.shape)
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                rows, cols = (
                    _adaptive_window(p, x.shape[1], delta.shape[1]),
                    _adaptive_window(q, x.shape[2], delta.shape[2]),
                )
                for i in rows:
                    for j in cols:
                        dx[c, i, j] += delta[c, p, q] / (len(rows) * len(cols))
    return dx


def _adaptive_argmax(x: np.ndarray, c: int, p: int, q: int, p_size: int, q_size: int) -> tuple[int, int]:
    """torch's scan: a larger value or a NaN takes over (first maximum, last NaN)."""
    best: tuple[int, int] | None = None
    for i in _adaptive_window(p, x.shape[1], p_size):
        for j in _adaptive_window(q, x.shape[2], q_size):
            if best is None or x[c, i, j] > x[c, best[0], best[1]] or math.isnan(x[c, i, j]):
                best = (i, j)
    assert best is not None
    return best


def adaptive_max_pool(x: np.ndarray, p_size: int, q_size: int) -> np.ndarray:
    y = np.zeros((x.shape[0], p_size, q_size))
    for c in range(x.shape[0]):
        for p in range(p_size):
            for q in range(q_size):
                y[c, p, q] = x[(c, *_adaptive_argmax(x, c, p, q, p_size, q_size))]
    return y


def adaptive_max_pool_backward(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Each window's δ to its argmax; a cell that is the argmax of several windows collects all."""
    dx = np.zeros(x.shape)
    for c in range(x.shape[0]):
        for p in range(delta.shape[1]):
            for q in range(delta.shape[2]):
                dx[(c, *_adaptive_argmax(x, c, p, q, *delta.shape[1:]))] += delta[c, p, q]
    return dx


def max_unpool(x: np.ndarray, indices: np.ndarray, h: int, w: int) -> np.ndarray:
    """y[c] = 0 but for y[c, k // W, k % W] = x[c, p, q] with k = indices[c, p, q]."""
    y = np.zeros((x.shape[0], h, w))
    for c in range(x.shape[0]):
        for p in range(x.shape[1]):
            for q in range(x.shape[2]):
                k = indices[c, p, q]
                y[c, k // w, k % w] = x[c, p, q]
    return y


def max_unpool_backward(delta: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """∂C/∂x[c, p, q] = δ[c] at the place x[c, p, q] was written to."""
    dx = np.zeros(indices.shape)
    for c in range(indices.shape[0]):
        for p in range(indices.shape[1]):
            for q in range(indices.shape[2]):
                k = indices[c, p, q]
                dx[c, p, q] = delta[c, k // delta.shape[2], k % delta.shape[2]]
    return dx


# ---------------------------------------------------------------------------------------------
# Affine layer, one sample: z = W·a + b
# ---------------------------------------------------------------------------------------------


def affine(weight: np.ndarray, a: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """z_j = Σ_k W_jk·a_k + b_j for one sample a (in,) and weights W (out, in)."""
    n_out, n_in = weight.shape
    z = np.zeros(n_out)
    for j in range(n_out):
        z[j] = 0.0 if bias is None else bias[j]
        for k in range(n_in):
            z[j] += weight[j, k] * a[k]
    return z


def affine_backward(weight: np.ndarray, a: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For δ = ∂C/∂z:  ∂C/∂W = δ·aᵀ,  ∂C/∂a = Wᵀ·δ (the δ recursion),  ∂C/∂b = δ.

    ∂z_j/∂W_jk = a_k, ∂z_j/∂a_k = W_jk, ∂z_j/∂b_j = 1; returns (∂C/∂W, ∂C/∂a, ∂C/∂b)."""
    n_out, n_in = weight.shape
    d_weight, d_a = np.zeros((n_out, n_in)), np.zeros(n_in)
    for j in range(n_out):
        for k in range(n_in):
            d_weight[j, k] = delta[j] * a[k]
            d_a[k] += weight[j, k] * delta[j]
    return d_weight, d_a, np.array(delta, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Activations a = σ(z), elementwise, and their derivatives σ′(z)
# ---------------------------------------------------------------------------------------------


def _floats(z: np.ndarray | float) -> np.ndarray:
    return np.asarray(z, dtype=np.float64)


def identity(z: np.ndarray | float) -> np.ndarray:
    """σ(z) = z (a linear output layer)."""
    return _floats(z).copy()


def identity_prime(z: np.ndarray | float) -> np.ndarray:
    """σ′(z) = 1."""
    return np.ones_like(_floats(z))


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """σ(z) = 1/(1 + e^{−z}).  (e^{−z} overflows to ∞ for z ≪ 0, and 1/∞ = 0 is the right limit.)"""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-_floats(z)))


def sigmoid_prime(z: np.ndarray | float) -> np.ndarray:
    """σ′(z) = σ(z)·(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray | float) -> np.ndarray:
    """tanh z = (e^z − e^{−z})/(e^z + e^{−z})."""
    return np.tanh(_floats(z))


def tanh_prime(z: np.ndarray | float) -> np.ndarray:
    """tanh′(z) = 1 − tanh² z."""
    t = np.tanh(_floats(z))
    return 1.0 - t * t


def relu(z: np.ndarray | float) -> np.ndarray:
    """relu(z) = max(z, 0)  (NaN stays NaN)."""
    z = _floats(z)
    return np.where(z > 0, z, np.where(np.isnan(z), z, 0.0))


def relu_prime(z: np.ndarray | float) -> np.ndarray:
    """relu′(z) = 1 for z > 0, else 0; at the kink z = 0 we take 0, as torch does."""
    return (_floats(z) > 0).astype(np.float64)


def leaky_relu(z: np.ndarray | float, negative_slope: float = 0.01) -> np.ndarray:
    """z for z > 0, else s·z."""
    z = _floats(z)
    return np.where(z > 0, z, negative_slope * z)


def leaky_relu_prime(z: np.ndarray | float, negative_slope: float = 0.01) -> np.ndarray:
    """1 for z > 0, else s (s at the kink z = 0, as torch)."""
    return np.where(_floats(z) > 0, 1.0, negative_slope)


_GELU_CUBIC = 0.044715


def normal_cdf(z: np.ndarray | float) -> np.ndarray:
    """Φ(z) = ½(1 + erf(z/√2)), element by element with math.erf (exact to rounding; NaN → NaN)."""
    z = _floats(z)
    out = np.empty(z.shape)
    for index, value in np.ndenumerate(z):
        out[index] = 0.5 * (1.0 + math.erf(value / math.sqrt(2.0)))
    return out


def normal_pdf(z: np.ndarray | float) -> np.ndarray:
    """φ(z) = e^{−z²/2}/√(2π)."""
    z = _floats(z)
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _gelu_tanh_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """t = tanh u and du/dz for u = √(2/π)(z + 0.044715 z³)."""
    c = math.sqrt(2.0 / math.pi)
    return np.tanh(c * (z + _GELU_CUBIC * z**3)), c * (1.0 + 3.0 * _GELU_CUBIC * z * z)


def gelu(z: np.ndarray | float, approximate: str = "none") -> np.ndarray:
    """gelu(z) = z·Φ(z);  approximate='tanh': ½z(1 + tanh u), u = √(2/π)(z + 0.044715 z³)."""
    z = _floats(z)
    if approximate == "tanh":
        return 0.5 * z * (1.0 + _gelu_tanh_parts(z)[0])
    return z * normal_cdf(z)


def gelu_prime(z: np.ndarray | float, approximate: str = "none") -> np.ndarray:
    """gelu′(z) = Φ(z) + z·φ(z)  (product rule, Φ′ = φ);
    approximate='tanh': ½(1 + tanh u) + ½z(1 − tanh² u)·du/dz."""
    z = _floats(z)
    if approximate == "tanh":
        t, du = _gelu_tanh_parts(z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du
    return normal_cdf(z) + z * normal_pdf(z)


# ---------------------------------------------------------------------------------------------
# Softmax and log-softmax of one vector z (K entries), with their Jacobians
# ---------------------------------------------------------------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    """p_i = e^{z_i − m} / Σ_j e^{z_j − m} with m = max z: the shift cancels in the ratio and
    keeps every e^{·} ≤ 1, so nothing overflows."""
    z = _floats(z)
    e = np.exp(z - np.max(z))
    total = 0.0
    for j in range(len(z)):
        total += e[j]
    return e / total


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """J_ik = ∂p_i/∂z_k = p_i(δ_ik − p_k)."""
    p = softmax(z)
    k = len(p)
    jac = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            jac[i, j] = p[i] * ((1.0 if i == j else 0.0) - p[j])
    return jac


def softmax_backward(z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """∂C/∂z_k = Σ_i g_i·J_ik with g = ∂C/∂p  (= p_k(g_k − Σ_i g_i p_i))."""
    return _vector_jacobian(g, softmax_jacobian(z))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log p_i = (z_i − m) − log Σ_j e^{z_j − m}, m = max z."""
    z = _floats(z)
    shifted = z - np.max(z)
    return shifted - math.log(sum(math.exp(v) for v in shifted)) if len(z) else shifted


def log_softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """J_ik = ∂ log p_i/∂z_k = δ_ik − p_k."""
    p = softmax(z)
    k = len(p)
    jac = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            jac[i, j] = (1.0 if i == j else 0.0) - p[j]
    return jac


def log_softmax_backward(z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """∂C/∂z_k = Σ_i g_i·(δ_ik − p_k) = g_k − p_k Σ_i g_i."""
    return _vector_jacobian(g, log_softmax_jacobian(z))


def _vector_jacobian(g: np.ndarray, jac: np.ndarray) -> np.ndarray:
    """(gᵀJ)_k = Σ_i g_i J_ik."""
    out = np.zeros(jac.shape[1])
    for i in range(jac.shape[0]):
        for k in range(jac.shape[1]):
            out[k] += g[i] * jac[i, k]
    return out


# ---------------------------------------------------------------------------------------------
# Losses. Classes sit on axis 1: a row of (N, C) or one pixel of (N, C, d1, …) is a "position".
# Reductions: 'none' keeps L_i per position, 'sum' adds them, 'mean' divides the sum by a count.
# ---------------------------------------------------------------------------------------------


def _positions(shape: tuple[int, ...]) -> list[tuple]:
    """Every position (n, d1, …) of a (N, C, d1, …) array, as an index that takes its C classes."""
    return [(pos[0], slice(None), *pos[1:]) for pos in np.ndindex((shape[0], *shape[2:]))]


def _position_index(index: tuple) -> tuple:
    """The index of a position's own entry in a (N, d1, …) array of per-position values."""
    return (index[0], *index[2:])


def _reduce(per_position: np.ndarray, reduction: str, count: float) -> np.ndarray:
    if reduction == "none":
        return per_position
    total = 0.0
    for value in per_position.reshape(-1):
        total += value
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(total / count if count else math.nan)


def _upstream(grad: np.ndarray, reduction: str, count: float, where: tuple) -> float:
    """∂C/∂L_i for position i: grad_i for 'none', grad for 'sum', grad/count for 'mean'
    (0 when the mean was over nothing: no position influenced it)."""
    grad = np.asarray(grad, dtype=np.float64)
    if reduction == "none":
        return float(grad[where])
    if reduction == "sum":
        return float(grad)
    return float(grad) / count if count else 0.0


def cross_entropy_coefficients(
    target_i: np.ndarray | int,
    n_classes: int,
    weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> np.ndarray:
    """A_c for one position: the target distribution y (one-hot for a class label, the row itself
    for probabilities) mixed with the uniform one, (1 − ε)·y_c + ε/C, times the class weight w_c.
    All zero for a label equal to ignore_index."""
    if np.ndim(target_i) == 0:
        if int(target_i) == ignore_index:
            return np.zeros(n_classes)
        y = np.zeros(n_classes)
        y[int(target_i)] = 1.0
    else:
        y = _floats(target_i)
    coef = np.zeros(n_classes)
    for c in range(n_classes):
        w = 1.0 if weight is None else float(weight[c])
        coef[c] = w * ((1.0 - label_smoothing) * y[c] + label_smoothing / n_classes)
    return coef


def _cross_entropy_count(target: np.ndarray, shape: tuple, weight: np.ndarray | None, ignore_index: int) -> float:
    """The 'mean' divisor: Σ w_{t_i} over the labels not ignored (their count without weights);
    the number of positions for probability targets."""
    if target.shape == shape:  # probability targets
        return float(len(_positions(shape)))
    count = 0.0
    for index in _positions(shape):
        label = int(target[_position_index(index)])
        if label != ignore_index:
            count += 1.0 if weight is None else float(weight[label])
    return count


def cross_entropy(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """L_i = −Σ_c A_ic·log p_ic with p_i = softmax of the logits x_i and A_i the position's
    cross_entropy_coefficients; target holds class labels (N, d1, …) or probabilities (N, C, d1, …)."""
    target = np.asarray(target)
    per = np.zeros((x.shape[0], *x.shape[2:]))
    for index in _positions(x.shape):
        where = _position_index(index)
        target_i = target[index] if target.shape == x.shape else target[where]
        coef = cross_entropy_coefficients(target_i, x.shape[1], weight, label_smoothing, ignore_index)
        log_p = log_softmax(x[index])
        for c in range(x.shape[1]):
            if coef[c]:  # 0·log p = 0 even where p underflowed to 0
                per[where] -= coef[c] * log_p[c]
    return _reduce(per, reduction, _cross_entropy_count(target, x.shape, weight, ignore_index))


def cross_entropy_backward(
    grad: np.ndarray,
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(∂C/∂x, ∂C/∂target) — the second None for class labels.

    ∂L_i/∂x_ic = p_ic·Σ_k A_ik − A_ic: for a one-hot y without weights or smoothing Σ_k A_ik = 1
    and this is the notes' output error δ = p − y. For probability targets
    ∂L_i/∂T_ic = −w_c·(1 − ε)·log p_ic. Each is scaled by ∂C/∂L_i.
    """
    target = np.asarray(target)
    probabilities = target.shape == x.shape
    count = _cross_entropy_count(target, x.shape, weight, ignore_index)
    dx = np.zeros(x.shape)
    d_target = np.zeros(x.shape) if probabilities else None
    for index in _positions(x.shape):
        where = _position_index(index)
        upstream = _upstream(grad, reduction, count, where)
        coef = cross_entropy_coefficients(
            target[index] if probabilities else target[where], x.shape[1], weight, label_smoothing, ignore_index
        )
        p, log_p = softmax(x[index]), log_softmax(x[index])
        delta = p * coef.sum() - coef
        dx[index] = upstream * delta
        if d_target is not None:
            w = np.ones(x.shape[1]) if weight is None else _floats(weight)
            d_target[index] = upstream * (-w * (1.0 - label_smoothing) * log_p)
    return dx, d_target


def nll_loss(
    log_probs: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    """L_i = −w_{t_i}·ℓ_{i,t_i} for log-probabilities ℓ; ignored labels give 0 and do not count."""
    per = np.zeros((log_probs.shape[0], *log_probs.shape[2:]))
    for index in _positions(log_probs.shape):
        where = _position_index(index)
        label = int(target[where])
        if label != ignore_index:
            per[where] = -(1.0 if weight is None else weight[label]) * log_probs[index][label]
    return _reduce(per, reduction, _cross_entropy_count(np.asarray(target), log_probs.shape, weight, ignore_index))


def nll_loss_backward(
    grad: np.ndarray,
    log_probs: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    """∂L_i/∂ℓ_ic = −w_{t_i} for c = t_i, else 0."""
    count = _cross_entropy_count(np.asarray(target), log_probs.shape, weight, ignore_index)
    d_log_probs = np.zeros(log_probs.shape)
    for index in _positions(log_probs.shape):
        where = _position_index(index)
        label = int(target[where])
        if label != ignore_index:
            w = 1.0 if weight is None else float(weight[label])
            d_log_probs[(index[0], label, *index[2:])] = -w * _upstream(grad, reduction, count, where)
    return d_log_probs


def mse(y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """C = (1/N) Σ_i (y_i − t_i)² over all N elements."""
    per = np.zeros(y.shape)
    for index in np.ndindex(y.shape):
        per[index] = (y[index] - t[index]) ** 2
    return _reduce(per, reduction, y.size)


def mse_backward(
    grad: np.ndarray, y: np.ndarray, t: np.ndarray, reduction: str = "mean"
) -> tuple[np.ndarray, np.ndarray]:
    """∂C/∂y_i = 2(y_i − t_i)/N and ∂C/∂t_i = −2(y_i − t_i)/N.

    No absolute value: d(u²)/du = 2u keeps the sign of y − t, which is what pulls y towards t
    from either side (a study note writes |y − t| here; that is a slip)."""
    d_y = np.zeros(y.shape)
    for index in np.ndindex(y.shape):
        d_y[index] = 2.0 * (y[index] - t[index]) * _upstream(grad, reduction, y.size, index)
    return d_y, -d_y


def log_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """log σ(x) = −log(1 + e^{−x}) = −(max(−x, 0) + log(1 + e^{−|x|})), which never overflows."""
    x = _floats(x)
    return -(np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def bce_with_logits(
    x: np.ndarray,
    t: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """ℓ_i = −w_i·[p_w·t_i·log σ(x_i) + (1 − t_i)·log(1 − σ(x_i))], log(1 − σ(x)) = log σ(−x);
    weight broadcasts against x, pos_weight p_w against its last axis (one per class)."""
    w = np.broadcast_to(1.0 if weight is None else weight, x.shape)
    pw = np.broadcast_to(1.0 if pos_weight is None else pos_weight, x.shape)
    per = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        per[i] = -w[i] * (pw[i] * t[i] * log_sigmoid(x[i]) + (1.0 - t[i]) * log_sigmoid(-x[i]))
    return _reduce(per, reduction, x.size)


def bce_with_logits_backward(
    grad: np.ndarray,
    x: np.ndarray,
    t: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """With (log σ)′ = 1 − σ and (log σ(−x))′ = −σ:
    ∂ℓ/∂x = w·[σ(x)·(p_w·t + 1 − t) − p_w·t]     (= w·(σ(x) − t) for p_w = 1)
    ∂ℓ/∂t = −w·[p_w·log σ(x) − log σ(−x)]"""
    w = np.broadcast_to(1.0 if weight is None else weight, x.shape)
    pw = np.broadcast_to(1.0 if pos_weight is None else pos_weight, x.shape)
    d_x, d_t = np.zeros(x.shape), np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        upstream = _upstream(grad, reduction, x.size, i)
        d_x[i] = upstream * w[i] * (sigmoid(x[i]) * (pw[i] * t[i] + 1.0 - t[i]) - pw[i] * t[i])
        d_t[i] = upstream * -w[i] * (pw[i] * log_sigmoid(x[i]) - log_sigmoid(-x[i]))
    return d_x, d_t


def _sign(d: float) -> float:
    return 1.0 if d > 0 else (-1.0 if d < 0 else (0.0 if d == 0 else math.nan))


def l1(y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """C = (1/N) Σ_i |y_i − t_i|."""
    per = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        per[i] = abs(y[i] - t[i])
    return _reduce(per, reduction, y.size)


def l1_backward(grad: np.ndarray, y: np.ndarray, t: np.ndarray, reduction: str = "mean") -> tuple:
    """∂C/∂y_i = sign(y_i − t_i)/N (0 at y_i = t_i), ∂C/∂t_i = −∂C/∂y_i."""
    d_y = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        d_y[i] = _sign(y[i] - t[i]) * _upstream(grad, reduction, y.size, i)
    return d_y, -d_y


def _smooth_l1_term(d: float, beta: float) -> tuple[float, float]:
    """(ℓ, ℓ′) at d: ½d²/β and d/β for |d| < β, |d| − ½β and sign(d) beyond."""
    if abs(d) < beta:
        return 0.5 * d * d / beta, d / beta
    return abs(d) - 0.5 * beta, _sign(d)


def smooth_l1(y: np.ndarray, t: np.ndarray, reduction: str = "mean", beta: float = 1.0) -> np.ndarray:
    """ℓ_i = ½(y_i − t_i)²/β where |y_i − t_i| < β, else |y_i − t_i| − ½β."""
    per = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        per[i] = _smooth_l1_term(y[i] - t[i], beta)[0]
    return _reduce(per, reduction, y.size)


def smooth_l1_backward(
    grad: np.ndarray, y: np.ndarray, t: np.ndarray, reduction: str = "mean", beta: float = 1.0
) -> tuple:
    """∂ℓ_i/∂y_i = (y_i − t_i)/β inside the quadratic part, sign(y_i − t_i) outside."""
    d_y = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        d_y[i] = _smooth_l1_term(y[i] - t[i], beta)[1] * _upstream(grad, reduction, y.size, i)
    return d_y, -d_y


def huber(y: np.ndarray, t: np.ndarray, reduction: str = "mean", delta: float = 1.0) -> np.ndarray:
    """ℓ_i = ½(y_i − t_i)² where |y_i − t_i| < δ, else δ(|y_i − t_i| − ½δ)."""
    per = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        d = y[i] - t[i]
        per[i] = 0.5 * d * d if abs(d) < delta else delta * (abs(d) - 0.5 * delta)
    return _reduce(per, reduction, y.size)


def huber_backward(grad: np.ndarray, y: np.ndarray, t: np.ndarray, reduction: str = "mean", delta: float = 1.0):
    """∂ℓ_i/∂y_i = y_i − t_i inside, δ·sign(y_i − t_i) outside: the error, clipped at ±δ."""
    d_y = np.zeros(y.shape)
    for i in np.ndindex(y.shape):
        d = y[i] - t[i]
        d_y[i] = (d if abs(d) < delta else delta * _sign(d)) * _upstream(grad, reduction, y.size, i)
    return d_y, -d_y


def _kl_count(x: np.ndarray, reduction: str) -> tuple[str, float]:
    """'batchmean' is a mean over the batch size, 'mean' over every element."""
    if reduction == "batchmean":
        return "mean", (x.shape[0] if x.ndim else 1)
    return reduction, x.size


def kl_div(x: np.ndarray, t: np.ndarray, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    """ℓ_i = t_i·(log t_i − x_i) (0 where t_i = 0), or e^{t_i}·(t_i − x_i) with log_target."""
    per = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        if log_target:
            per[i] = math.exp(t[i]) * (t[i] - x[i])
        else:
            per[i] = (t[i] * math.log(t[i]) if t[i] > 0 else 0.0) - t[i] * x[i]
    return _reduce(per, *_kl_count(x, reduction))


def kl_div_backward(
    grad: np.ndarray, x: np.ndarray, t: np.ndarray, reduction: str = "mean", log_target: bool = False
) -> tuple:
    """∂ℓ_i/∂x_i = −t_i and ∂ℓ_i/∂t_i = log t_i + 1 − x_i; with log_target −e^{t_i} and
    e^{t_i}·(t_i − x_i + 1)."""
    mode, count = _kl_count(x, reduction)
    d_x, d_t = np.zeros(x.shape), np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        upstream = _upstream(grad, mode, count, i)
        if log_target:
            d_x[i] = -math.exp(t[i]) * upstream
            d_t[i] = math.exp(t[i]) * (t[i] - x[i] + 1) * upstream
        else:
            d_x[i] = -t[i] * upstream
            d_t[i] = ((math.log(t[i]) if t[i] > 0 else -math.inf) + 1 - x[i]) * upstream
    return d_x, d_t


# ---------------------------------------------------------------------------------------------
# Batch normalisation: per channel c (axis 1), over the m values x[n, c, …] of all samples
# ---------------------------------------------------------------------------------------------


def _channel_values(x: np.ndarray, c: int) -> np.ndarray:
    """The m = N·(H·W…) values of channel c, as a flat copy."""
    return np.array(x[:, c, ...], dtype=np.float64).reshape(-1)


def batch_norm(
    x: np.ndarray, gamma: np.ndarray | None = None, beta: np.ndarray | None = None, eps: float = 1e-5
) -> np.ndarray:
    """Training mode: μ = (1/m) Σ x,  σ² = (1/m) Σ (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β."""
    y = np.zeros(x.shape)
    for c in range(x.shape[1]):
        values = _channel_values(x, c)
        m = len(values)
        mean = sum(values) / m
        var = sum((v - mean) ** 2 for v in values) / m
        g = 1.0 if gamma is None else gamma[c]
        b = 0.0 if beta is None else beta[c]
        y[:, c, ...] = g * (x[:, c, ...] - mean) / math.sqrt(var + eps) + b
    return y


def batch_norm_statistics(x: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """μ and σ² per channel and x̂ = (x − μ)/√(σ² + ε): the intermediate values of batch_norm."""
    mean, var, x_hat = np.zeros(x.shape[1]), np.zeros(x.shape[1]), np.zeros(x.shape)
    for c in range(x.shape[1]):
        values = _channel_values(x, c)
        m = len(values)
        mean[c] = sum(values) / m
        var[c] = sum((v - mean[c]) ** 2 for v in values) / m
        x_hat[:, c, ...] = (x[:, c, ...] - mean[c]) / math.sqrt(var[c] + eps)
    return mean, var, x_hat


def batch_norm_backward(
    grad: np.ndarray, x: np.ndarray, gamma: np.ndarray | None = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(∂C/∂x, ∂C/∂γ, ∂C/∂β) for g = ∂C/∂y, every Σ over the m values of one channel, s = √(σ² + ε):

        ∂C/∂β = Σ g,   ∂C/∂γ = Σ g·x̂,
        ∂C/∂x = (γ/(m·s))·(m·g − Σ g − x̂·Σ g·x̂)

    The three terms: the direct path through x̂, the path through μ (every x moves the mean) and
    the path through σ² (every x moves the variance)."""
    dx, d_gamma, d_beta = np.zeros(x.shape), np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for c in range(x.shape[1]):
        values, g = _channel_values(x, c), _channel_values(grad, c)
        m = len(values)
        mean = sum(values) / m
        s = math.sqrt(sum((v - mean) ** 2 for v in values) / m + eps)
        x_hat = (values - mean) / s
        sum_g, sum_g_xhat = 0.0, 0.0
        for i in range(m):
            sum_g += g[i]
            sum_g_xhat += g[i] * x_hat[i]
        d_beta[c], d_gamma[c] = sum_g, sum_g_xhat
        scale = (1.0 if gamma is None else gamma[c]) / (m * s)
        dx_c = np.array([scale * (m * g[i] - sum_g - x_hat[i] * sum_g_xhat) for i in range(m)])
        dx[:, c, ...] = dx_c.reshape(x[:, c, ...].shape)
    return dx, d_gamma, d_beta


def batch_norm_eval(
    x: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> np.ndarray:
    """Evaluation mode: y = γ·(x − μ_run)/√(var_run + ε) + β, an affine map per channel."""
    y = np.zeros(x.shape)
    for c in range(x.shape[1]):
        g = 1.0 if gamma is None else gamma[c]
        b = 0.0 if beta is None else beta[c]
        y[:, c, ...] = g * (x[:, c, ...] - running_mean[c]) / math.sqrt(running_var[c] + eps) + b
    return y


def batch_norm_eval_backward(
    grad: np.ndarray,
    x: np.ndarray,
    gamma: np.ndarray | None,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The statistics are constants: ∂C/∂x = γ·g/√(var_run + ε), ∂C/∂γ = Σ g·x̂, ∂C/∂β = Σ g."""
    dx, d_gamma, d_beta = np.zeros(x.shape), np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for c in range(x.shape[1]):
        s = math.sqrt(running_var[c] + eps)
        g = grad[:, c, ...]
        dx[:, c, ...] = (1.0 if gamma is None else gamma[c]) * g / s
        d_gamma[c] = np.sum(g * (x[:, c, ...] - running_mean[c]) / s)
        d_beta[c] = np.sum(g)
    return dx, d_gamma, d_beta


# ---------------------------------------------------------------------------------------------
# Inverted dropout with a given keep mask m (1 = kept)
# ---------------------------------------------------------------------------------------------


def dropout(x: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """y = x·m/(1 − p): the kept units are scaled so that E[y] = x; p = 1 keeps nothing."""
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return _floats(x) * mask * scale


def dropout_backward(grad: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """∂y_i/∂x_i = m_i/(1 − p): only the kept units pass gradient, scaled the same way."""
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return _floats(grad) * mask * scale


def embedding(indices: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y[i] = W[indices[i]]: a row of the table for every index."""
    y = np.zeros((*indices.shape, weight.shape[1]))
    for i in np.ndindex(indices.shape):
        y[i] = weight[indices[i]]
    return y


def embedding_backward(delta: np.ndarray, indices: np.ndarray, weight: np.ndarray, padding_idx=None) -> np.ndarray:
    """∂C/∂W[k] = Σ of δ[i] over the positions i that read row k (none for the padding row)."""
    d_weight = np.zeros(weight.shape)
    for i in np.ndindex(indices.shape):
        if indices[i] != padding_idx:
            d_weight[indices[i]] += delta[i]
    return d_weight


def dropout2d(x: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """y[n, c] = x[n, c]·m[n, c]/(1 − p): one keep decision per channel of each sample."""
    y = np.zeros(x.shape)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            y[n, c] = dropout(x[n, c], mask[n, c], p)
    return y


def dropout2d_backward(grad: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """∂y[n, c]/∂x[n, c] = m[n, c]/(1 − p): a dropped channel passes no gradient."""
    return dropout2d(grad, mask, p)


# ---------------------------------------------------------------------------------------------
# Recurrent nets on one sequence of one sample, step by step (docs/rnn-backprop.md): xs (T, in),
# states (H,), weights with torch's gate rows. δ_t is ∂C/∂(pre-activation of step t) and gs[t] the
# gradient ∂C/∂h_t arriving from above at step t (from a loss on that step's output).
# ---------------------------------------------------------------------------------------------


def rnn(xs: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> list:
    """h_t = tanh(z_t),  z_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh;  returns [h_1 … h_T]."""
    hs, h = [], _floats(h0)
    for x in xs:
        h = tanh(affine(w_ih, x, b_ih) + affine(w_hh, h, b_hh))
        hs.append(h)
    return hs


def rnn_backward(xs: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, hs: list, gs: np.ndarray) -> dict:
    """Backpropagation through time, the notes' δ recursion run over steps instead of layers:
        ∂C/∂h_t = g_t + W_hhᵀ δ_{t+1}   (nothing comes from step T + 1)
        δ_t     = (1 − h_t²) ⊙ ∂C/∂h_t
    and each weight sums its per-step gradient: ∂C/∂W_hh = Σ_t δ_t h_{t−1}ᵀ, ∂C/∂W_ih = Σ_t δ_t x_tᵀ,
    ∂C/∂b = Σ_t δ_t. Returns every δ_t, ∂C/∂x_t, ∂C/∂h_0 and the weight gradients."""
    length = len(xs)
    deltas = [np.zeros(len(h0))] * length
    dxs = np.zeros((length, len(xs[0])))
    dw_ih, dw_hh, db = np.zeros(w_ih.shape), np.zeros(w_hh.shape), np.zeros(len(h0))
    from_later = np.zeros(len(h0))  # W_hhᵀ δ_{t+1}
    for t in reversed(range(length)):
        h_prev = hs[t - 1] if t > 0 else _floats(h0)
        deltas[t] = tanh_prime_from_output(hs[t]) * (gs[t] + from_later)
        d_w, from_later, d_b = affine_backward(w_hh, h_prev, deltas[t])
        dw_hh += d_w
        db += d_b
        d_w, dxs[t], _ = affine_backward(w_ih, xs[t], deltas[t])
        dw_ih += d_w
    return {"deltas": deltas, "dx": dxs, "dh0": from_later, "dw_ih": dw_ih, "dw_hh": dw_hh, "db": db}


def tanh_prime_from_output(h: np.ndarray) -> np.ndarray:
    """tanh′(z) written with h = tanh z: 1 − h²."""
    return 1.0 - _floats(h) ** 2


def lstm(
    xs: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b: np.ndarray,
    w_hr: np.ndarray | None = None,
) -> dict:
    """(i, f, g, o) = (σ, σ, tanh, σ)(W_ih x_t + W_hh h_{t−1} + b), c_t = f⊙c_{t−1} + i⊙g,
    h_t = o⊙tanh(c_t), b = b_ih + b_hh; with a projection W_hr (torch's proj_size)
    h_t = W_hr·(o⊙tanh(c_t)). Returns the lists hs, cs and gates (i, f, g, o) per step."""
    size = len(c0)
    h, c = _floats(h0), _floats(c0)
    out: dict = {"hs": [], "cs": [], "gates": []}
    for x in xs:
        z = affine(w_ih, x, b) + affine(w_hh, h)
        i, f, g, o = (
            sigmoid(z[:size]),
            sigmoid(z[size : 2 * size]),
            tanh(z[2 * size : 3 * size]),
            sigmoid(z[3 * size :]),
        )
        c = f * c + i * g
        h = o * tanh(c) if w_hr is None else affine(w_hr, o * tanh(c))
        out["hs"].append(h)
        out["cs"].append(c)
        out["gates"].append((i, f, g, o))
    return out


def lstm_backward(
    xs: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, forward: dict, gs: np.ndarray
) -> dict:
    """BPTT through the LSTM cell, for each step from the last:
        ∂h = g_t + W_hhᵀ δ_{t+1};   ∂c = f_{t+1}⊙∂c_{t+1} + ∂h⊙o⊙(1 − tanh² c_t)
        δo = ∂h⊙tanh c_t⊙o(1−o),  δi = ∂c⊙g⊙i(1−i),  δf = ∂c⊙c_{t−1}⊙f(1−f),  δg = ∂c⊙i⊙(1−g²)
    The cell state passes its gradient back through f alone (∂c_t/∂c_{t−1} = diag f): no weight
    matrix and no squashing derivative, which is why it survives many steps. Returns δ_t (4H,)
    per step, ∂C/∂c_t per step, ∂C/∂x_t, ∂C/∂h_0, ∂C/∂c_0 and the weight gradients."""
    length = len(xs)
    hs, cs, gates = forward["hs"], forward["cs"], forward["gates"]
    deltas, dcs = [None] * length, [None] * length
    dxs = np.zeros((length, len(xs[0])))
    dw_ih, dw_hh, db = np.zeros(w_ih.shape), np.zeros(w_hh.shape), np.zeros(w_hh.shape[0])
    from_later, dc_later = np.zeros(len(h0)), np.zeros(len(h0))
    for t in reversed(range(length)):
        i, f, g, o = gates[t]
        h_prev = hs[t - 1] if t > 0 else _floats(h0)
        c_prev = cs[t - 1] if t > 0 else _floats(c0)
        dh = gs[t] + from_later
        dc = dc_later + dh * o * tanh_prime_from_output(tanh(cs[t]))
        dcs[t] = dc
        deltas[t] = np.concatenate(
            [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g), dh * tanh(cs[t]) * o * (1 - o)]
        )
        dc_later = dc * f
        d_w, from_later, d_b = affine_backward(w_hh, h_prev, deltas[t])
        dw_hh += d_w
        db += d_b
        d_w, dxs[t], _ = affine_backward(w_ih, xs[t], deltas[t])
        dw_ih += d_w
    return {
        "deltas": deltas, "dc": dcs, "dx": dxs, "dh0": from_later, "dc0": dc_later,
        "dw_ih": dw_ih, "dw_hh": dw_hh, "db": db,
    }  # fmt: skip


def gru(xs: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> dict:
    """r, z = σ(W_i· x + b_i· + W_h· h + b_h·), n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),
    h_t = (1 − z)⊙n + z⊙h_{t−1}; returns hs and per step (r, z, n, m = W_hn h + b_hn)."""
    size = len(h0)
    h = _floats(h0)
    out: dict = {"hs": [], "gates": []}
    for x in xs:
        a, m = affine(w_ih, x, b_ih), affine(w_hh, h, b_hh)
        r, z = sigmoid(a[:size] + m[:size]), sigmoid(a[size : 2 * size] + m[size : 2 * size])
        n = tanh(a[2 * size :] + r * m[2 * size :])
        h = (1 - z) * n + z * h
        out["hs"].append(h)
        out["gates"].append((r, z, n, m[2 * size :]))
    return out


def gru_backward(
    xs: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, forward: dict, gs: np.ndarray
) -> dict:
    """BPTT through the GRU: with ∂h = g_t + ∂C/∂h_t from step t + 1,
        δn = ∂h⊙(1 − z)⊙(1 − n²),  δz = ∂h⊙(h_{t−1} − n)⊙z(1 − z),  δr = δn⊙m⊙r(1 − r)
    the input side gets (δr, δz, δn), the recurrent side (δr, δz, r⊙δn), and
    ∂C/∂h_{t−1} = ∂h⊙z + W_hhᵀ(δr, δz, r⊙δn)."""
    length = len(xs)
    hs, gates = forward["hs"], forward["gates"]
    dxs = np.zeros((length, len(xs[0])))
    dw_ih, dw_hh = np.zeros(w_ih.shape), np.zeros(w_hh.shape)
    db_ih, db_hh = np.zeros(w_ih.shape[0]), np.zeros(w_hh.shape[0])
    from_later = np.zeros(len(h0))
    for t in reversed(range(length)):
        r, z, n, m = gates[t]
        h_prev = hs[t - 1] if t > 0 else _floats(h0)
        dh = gs[t] + from_later
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (h_prev - n) * z * (1 - z)
        dr = dn * m * r * (1 - r)
        d_input, d_hidden = np.concatenate([dr, dz, dn]), np.concatenate([dr, dz, r * dn])
        d_w, dxs[t], d_b = affine_backward(w_ih, xs[t], d_input)
        dw_ih += d_w
        db_ih += d_b
        d_w, through_w, d_b = affine_backward(w_hh, h_prev, d_hidden)
        dw_hh += d_w
        db_hh += d_b
        from_later = dh * z + through_w
    return {"dx": dxs, "dh0": from_later, "dw_ih": dw_ih, "dw_hh": dw_hh, "db_ih": db_ih, "db_hh": db_hh}


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention of one head on one sample (docs/attention-backprop.md):
# q (L, E), k (S, E), v (S, Ev), an additive mask (L, S) of 0 and −∞ (or any floats)
# ---------------------------------------------------------------------------------------------


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """For each query i: s_ij = q_i·k_j/√E + m_ij, p_i = softmax(s_i), o_i = Σ_j p_ij v_j."""
    out = np.zeros((len(q), v.shape[1]))
    for i in range(len(q)):
        p = softmax(attention_scores(q, k, mask, i))
        for j in range(len(k)):
            out[i] += p[j] * v[j]
    return out


def attention_scores(q: np.ndarray, k: np.ndarray, mask: np.ndarray | None, i: int) -> np.ndarray:
    """s_ij = q_i·k_j/√E + m_ij for every key j of query i."""
    scores = np.array([float(np.dot(q[i], k[j])) for j in range(len(k))]) / math.sqrt(q.shape[1])
    return scores if mask is None else scores + mask[i]


def attention_backward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, g: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """With g_i = ∂C/∂o_i, row by row: ∂C/∂v_j += p_ij g_i, ∂C/∂p_ij = g_i·v_j, ∂C/∂s_i through
    the softmax Jacobian, then ∂C/∂q_i = Σ_j ∂C/∂s_ij k_j/√E and ∂C/∂k_j += ∂C/∂s_ij q_i/√E."""
    dq, dk, dv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    root = math.sqrt(q.shape[1])
    for i in range(len(q)):
        s = attention_scores(q, k, mask, i)
        p = softmax(s)
        dp = np.array([float(np.dot(g[i], v[j])) for j in range(len(k))])
        ds = softmax_backward(s, dp)
        for j in range(len(k)):
            dv[j] += p[j] * g[i]
            dq[i] += ds[j] * k[j] / root
            dk[j] += ds[j] * q[i] / root
    return dq, dk, dv


# ---------------------------------------------------------------------------------------------
# The torch names tutorials use first: sin and cos with their derivatives, einsum as the sum of
# products it names, expand and scatter as the copies they make (bprop.ops' Sin, Cos, Einsum,
# Expand, Scatter). Einsum here takes explicit lowercase letters (no '...').
# ---------------------------------------------------------------------------------------------


def sin_prime(z: np.ndarray | float) -> np.ndarray:
    """d sin z / dz = cos z."""
    return np.cos(_floats(z))


def cos_prime(z: np.ndarray | float) -> np.ndarray:
    """d cos z / dz = −sin z."""
    return -np.sin(_floats(z))


def einsum(equation: str, *operands: np.ndarray) -> np.ndarray:
    """y[o] = Σ over the letters not in o of Π_k x_k[s_k]: one loop over every assignment of
    every letter (a size-1 dim broadcasts against the others' size)."""
    inputs, _, output = equation.replace(" ", "").partition("->")
    subs = inputs.split(",")
    sizes: dict[str, int] = {}
    for s, x in zip(subs, operands):
        for letter, n in zip(s, np.shape(x)):
            sizes[letter] = n if sizes.get(letter, 1) == 1 else sizes[letter]
    letters = sorted(sizes)
    y = np.zeros(tuple(sizes[c] for c in output))
    for values in itertools.product(*(range(sizes[c]) for c in letters)):
        at = dict(zip(letters, values))
        term = 1.0
        for s, x in zip(subs, operands):
            term *= x[tuple(min(at[c], n - 1) for c, n in zip(s, np.shape(x)))]
        y[tuple(at[c] for c in output)] += term
    return y


def expand(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """y[i] = x[i with each index of a size-1 (or added leading) dim of x taken as 0]; −1 in
    ``shape`` keeps x's size."""
    lead = len(shape) - np.ndim(x)
    shape = tuple(np.shape(x)[k - lead] if n == -1 else n for k, n in enumerate(shape))
    y = np.zeros(shape)
    for i in np.ndindex(*shape):
        y[i] = x[tuple(0 if n == 1 else k for k, n in zip(i[lead:], np.shape(x)))]
    return y


def scatter(x: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """y = x, then y[i with i_dim = index[i]] = src[i] for every i of index, in order."""
    y = np.array(x, dtype=np.float64)
    for i in np.ndindex(*np.shape(index)):
        target = list(i)
        target[dim] = int(index[i])
        y[tuple(target)] = src[i]
    return y
